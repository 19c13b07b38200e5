// Static checks of one template, without data and without rendering: what the renderer would refuse
// whatever the data (mixed dialects, Go functions that reach the environment, Go blocks spanning the
// strings of an object template) and what does not parse (Go syntax, eta tags, the JavaScript of eta
// code). Used by `kubectl integration check` (src/cli/check.ts); the checks are the renderer's own
// (dialect.ts, go/engine.ts, sandbox/compile-entry.ts), run on the host because nothing here executes
// template code: Go templates are only parsed, and eta's generated function is only compiled
// (node:vm, never run).
import { Script } from 'node:vm';
import { analyzeTemplate, dialectProblem, unbalancedGoBlock } from './dialect.ts';
import type { TemplateErrorCode } from './errors.ts';
import { parseGoTemplate } from './go/engine.ts';
import { positionOf } from './go/parse.ts';
import { SPANNING, spanningHint } from './object-template.ts';
import { compile } from './sandbox/compile-entry.ts';
import { templateLine } from './sandbox/runner.ts';

export interface TemplateSyntaxProblem {
  code: TemplateErrorCode;
  /** What is wrong, without the position (see line and column). */
  message: string;
  /** 1-based position in the template text, when known. */
  line?: number;
  column?: number;
}

export interface TemplateCheckOptions {
  /** The template is one string (or key) of an object template: no block may span strings. */
  objectString?: boolean;
}

const MAX_MESSAGE_LENGTH = 1000;

/** `line 3, column 5: msg` / `line 3: msg` → the position and the message. */
function splitPosition(text: string): { message: string; line?: number; column?: number } {
  const m = /^line (\d+)(?:, column (\d+))?: ([\s\S]*)$/.exec(text);
  if (!m) return { message: text };
  return { message: m[3] as string, line: Number(m[1]), ...(m[2] ? { column: Number(m[2]) } : {}) };
}

/** A parse error, with what the renderer adds: unbalanced blocks, and why they are wrong in an object. */
function withHint(message: string, src: string, objectString: boolean): string {
  const hint = spanningHint(src);
  if (!hint) return message;
  return objectString ? `${message}; ${hint}; ${SPANNING}` : `${message}; ${hint}`;
}

function checkGo(src: string, objectString: boolean): TemplateSyntaxProblem | undefined {
  try {
    parseGoTemplate(src);
  } catch (e) {
    const err = e as { message?: unknown; line?: unknown; column?: unknown };
    const { message } = splitPosition(String(err.message ?? e));
    return {
      code: 'TemplateSyntax',
      message: withHint(message, src, objectString),
      ...(typeof err.line === 'number' ? { line: err.line } : {}),
      ...(typeof err.column === 'number' ? { column: err.column } : {}),
    };
  }
  return undefined;
}

function checkEta(src: string, objectString: boolean): TemplateSyntaxProblem | undefined {
  const compiled = compile(JSON.stringify(src), MAX_MESSAGE_LENGTH);
  if (compiled[0] === 'E') {
    // eta's parser names the place: "unclosed tag at line 2 col 3:\n\n  ...\n  ^".
    const message = compiled.slice(1);
    const at = /at line (\d+) col (\d+)/.exec(message);
    return {
      code: 'TemplateSyntax',
      message: (message.split('\n')[0] ?? message).replace(/ at line \d+ col \d+:?$/, ''),
      ...(at ? { line: Number(at[1]), column: Number(at[2]) } : {}),
    };
  }
  if (compiled[0] !== 'O') return { code: 'TemplateSyntax', message: compiled.slice(1) };
  const body = compiled.slice(1);
  try {
    // The same function the sandbox builds (runner.ts compileEta), compiled and never called.
    new Script(`(function (it, options) {\n${body}\n})`, { filename: 'template' });
  } catch (e) {
    const err = e as { name?: unknown; message?: unknown; stack?: unknown };
    const scriptLine = /^template:(\d+)/.exec(String(err.stack ?? ''))?.[1];
    const line = scriptLine ? templateLine(body, Number(scriptLine) - 1) : 0;
    const message = `bad template syntax: ${String(err.name ?? 'SyntaxError')}: ${String(err.message ?? e)}`;
    return {
      code: 'TemplateSyntax',
      message: withHint(message, src, objectString),
      ...(line > 0 ? { line } : {}),
    };
  }
  return undefined;
}

/** The first problem of a template that no data can fix, or undefined when it parses. */
export function checkTemplateSyntax(
  src: string,
  opts: TemplateCheckOptions = {},
): TemplateSyntaxProblem | undefined {
  if (!src.includes('{%')) return undefined;
  const analysis = analyzeTemplate(src);
  const refused = dialectProblem(src, analysis);
  if (refused) {
    const at = positionOf(src, refused.tag.start);
    return { code: refused.code, message: splitPosition(refused.message).message, ...at };
  }
  const objectString = opts.objectString ?? false;
  if (analysis.dialect === 'go') {
    const unbalanced = objectString ? unbalancedGoBlock(analysis) : undefined;
    if (unbalanced) {
      return {
        code: 'TemplateSyntax',
        message: `${unbalanced.problem}; ${SPANNING}`,
        ...positionOf(src, unbalanced.tag.start),
      };
    }
    return checkGo(src, objectString);
  }
  return checkEta(src, objectString);
}
