// The executor: walks a parsed template the way Go's text/template/exec.go does (argument evaluation and
// type checks, Go's nil/"no value" distinction, field chains, pipelines, range/with/if, template calls),
// with bounds on output size, loop iterations, total work and template recursion depth.

import { compareStrings } from './bytes.ts';
import { GoFuncError, GoLimitError, GoTemplateError, GoUnavailableError } from './errors.ts';
import { formatV } from './fmt.ts';
import {
  type ArgNode,
  argString,
  type BranchNode,
  type ChainNode,
  type CommandNode,
  type FieldNode,
  type IdentifierNode,
  type Node,
  type NumberNode,
  type ParsedTemplate,
  type PipeNode,
  positionOf,
  type TemplateNode,
  type VariableNode,
} from './parse.ts';
import {
  GoInt,
  type GoMap,
  type GoValue,
  int,
  isNoValue,
  isTrue,
  Missing,
  mapElemType,
  nilMap,
  typeString,
} from './values.ts';

/** Parameter types of template functions, after Go's reflect types. */
export type ParamType = 'any' | 'string' | 'int' | 'int64' | 'float64' | 'bool' | 'map' | 'value';

export interface CallContext {
  /** Charges work units against the render's budget; throws GoLimitError when exhausted. */
  charge(units: number): void;
  /** Next 32 random bits from the render's seeded generator. */
  random32(): number;
}

export interface FuncDef {
  params: ParamType[];
  variadic?: ParamType;
  call: (args: GoValue[], ctx: CallContext) => GoValue;
}

export interface Limits {
  maxOutput: number;
  maxIterations: number;
  maxWork: number;
  maxDepth: number;
}

const PARAM_GO_TYPE: Record<ParamType, string> = {
  any: 'interface {}',
  string: 'string',
  int: 'int',
  int64: 'int64',
  float64: 'float64',
  bool: 'bool',
  map: 'map[string]interface {}',
  value: 'reflect.Value',
};

/** V8 throws RangeError on stack exhaustion, QuickJS an InternalError "stack overflow". */
export function isStackOverflow(e: unknown): boolean {
  return (
    e instanceof RangeError || (e instanceof Error && /stack overflow|too much recursion/i.test(e.message))
  );
}

class BreakSignal {}
class ContinueSignal {}
const BREAK = new BreakSignal();
const CONTINUE = new ContinueSignal();

class ExecError extends Error {
  override name = 'ExecError';
  readonly pos: number;
  constructor(message: string, pos: number) {
    super(message);
    this.pos = pos;
  }
}

interface Variable {
  name: string;
  value: GoValue;
}

export interface ExecResult {
  output: string;
  missingKeys: string[];
}

export class Executor {
  private readonly tmpl: ParsedTemplate;
  private readonly funcs: Map<string, FuncDef>;
  private readonly limits: Limits;
  private readonly ctx: CallContext;
  private out: string[] = [];
  private outLength = 0;
  private iterations = 0;
  private work = 0;
  private depth = 0;
  private vars: Variable[] = [];
  private at = 0;
  private readonly missing = new Set<string>();

  constructor(tmpl: ParsedTemplate, funcs: Map<string, FuncDef>, limits: Limits, random32: () => number) {
    this.tmpl = tmpl;
    this.funcs = funcs;
    this.limits = limits;
    this.ctx = {
      charge: (units) => this.charge(units),
      random32,
    };
  }

  private charge(units: number): void {
    this.work += units;
    if (this.work > this.limits.maxWork) {
      throw new GoLimitError(`template exceeds the work limit (${this.limits.maxWork} steps)`);
    }
  }

  private fail(message: string, pos = this.at): never {
    throw new ExecError(message, pos);
  }

  private write(s: string): void {
    this.outLength += s.length;
    if (this.outLength > this.limits.maxOutput) {
      throw new GoLimitError(`output exceeds the limit of ${this.limits.maxOutput} characters`);
    }
    this.out.push(s);
  }

  execute(data: GoValue): ExecResult {
    const root = this.tmpl.trees.get('');
    if (!root) throw new GoTemplateError('GO_TEMPLATE_EXEC', 'template has no body');
    this.vars = [{ name: '$', value: data }];
    try {
      this.walk(data, root);
    } catch (e) {
      throw this.translate(e);
    }
    return { output: this.out.join(''), missingKeys: [...this.missing] };
  }

  private translate(e: unknown): GoTemplateError {
    if (e instanceof GoTemplateError) return e;
    const where = positionOf(this.tmpl.source, this.at);
    if (e instanceof ExecError) {
      return new GoTemplateError('GO_TEMPLATE_EXEC', e.message, positionOf(this.tmpl.source, e.pos));
    }
    if (e instanceof GoLimitError)
      return new GoTemplateError('GO_TEMPLATE_LIMIT', e.message, where, { cause: e });
    if (e instanceof GoUnavailableError) {
      return new GoTemplateError('GO_TEMPLATE_UNAVAILABLE', e.message, where, { cause: e });
    }
    if (isStackOverflow(e)) {
      return new GoTemplateError('GO_TEMPLATE_LIMIT', 'template nesting is too deep', where, { cause: e });
    }
    const message = e instanceof Error ? e.message : String(e);
    return new GoTemplateError('GO_TEMPLATE_EXEC', message, where, { cause: e });
  }

  // ---- variables ----

  private mark(): number {
    return this.vars.length;
  }
  private pop(mark: number): void {
    this.vars.length = mark;
  }
  private push(name: string, value: GoValue): void {
    this.vars.push({ name, value });
  }
  private setVar(name: string, value: GoValue): void {
    for (let i = this.vars.length - 1; i >= 0; i--) {
      if (this.vars[i]!.name === name) {
        this.vars[i]!.value = value;
        return;
      }
    }
    this.fail(`undefined variable: ${name}`);
  }
  private setTopVar(n: number, value: GoValue): void {
    this.vars[this.vars.length - n]!.value = value;
  }
  private varValue(name: string): GoValue {
    for (let i = this.vars.length - 1; i >= 0; i--) {
      if (this.vars[i]!.name === name) return this.vars[i]!.value;
    }
    this.fail(`undefined variable: ${name}`);
  }

  // ---- walking ----

  private walk(dot: GoValue, node: Node): void {
    this.at = node.pos;
    this.charge(1);
    switch (node.type) {
      case 'action': {
        const val = this.evalPipeline(dot, node.pipe);
        if (node.pipe.decl.length === 0) this.printValue(val);
        return;
      }
      case 'break':
        throw BREAK;
      case 'continue':
        throw CONTINUE;
      case 'if':
      case 'with':
        this.walkIfOrWith(dot, node);
        return;
      case 'list':
        for (const n of node.nodes) this.walk(dot, n);
        return;
      case 'range':
        this.walkRange(dot, node);
        return;
      case 'template':
        this.walkTemplate(dot, node);
        return;
      case 'text':
        this.write(node.text);
        return;
    }
  }

  private printValue(v: GoValue): void {
    if (isNoValue(v)) {
      // Deliberate difference: Go printed "<no value>"; a missing key renders as "" and is reported.
      if (v instanceof Missing) this.missing.add(v.path);
      return;
    }
    const s = formatV(v);
    this.charge(s.length >> 6);
    this.write(s);
  }

  private walkIfOrWith(dot: GoValue, node: BranchNode): void {
    const mark = this.mark();
    try {
      const val = this.evalPipeline(dot, node.pipe);
      if (isTrue(val)) {
        this.walk(node.type === 'with' ? val : dot, node.list);
      } else if (node.elseList) {
        this.walk(dot, node.elseList);
      }
    } finally {
      this.pop(mark);
    }
  }

  private walkRange(dot: GoValue, r: BranchNode): void {
    const outer = this.mark();
    try {
      this.at = r.pos;
      const val = this.evalPipeline(dot, r.pipe);
      const mark = this.mark();
      const decl = r.pipe.decl;
      const oneIteration = (index: GoValue, elem: GoValue): void => {
        this.iterations++;
        if (this.iterations > this.limits.maxIterations) {
          throw new GoLimitError(`range exceeds the limit of ${this.limits.maxIterations} iterations`);
        }
        if (decl.length > 0) {
          if (r.pipe.isAssign) this.setVar(decl[0]!.ident[0]!, decl.length > 1 ? index : elem);
          else this.setTopVar(1, elem);
        }
        if (decl.length > 1) {
          if (r.pipe.isAssign) this.setVar(decl[1]!.ident[0]!, elem);
          else this.setTopVar(2, index);
        }
        try {
          this.walk(elem, r.list);
        } catch (e) {
          if (e !== CONTINUE) throw e;
        } finally {
          this.pop(mark);
        }
      };
      let ran = false;
      try {
        if (val instanceof GoInt) {
          if (decl.length > 1)
            this.fail(`can't use ${formatV(val)} to iterate over more than one variable`, r.pos);
          for (let i = 0n; i < val.v; i++) {
            ran = true;
            oneIteration(undefined, new GoInt(val.type, i));
          }
        } else if (Array.isArray(val)) {
          for (let i = 0; i < val.length; i++) {
            ran = true;
            oneIteration(int(i), val[i]);
          }
        } else if (val instanceof Map) {
          const keys = [...val.keys()].sort(compareStrings);
          this.charge(keys.length);
          for (const k of keys) {
            ran = true;
            oneIteration(k, val.get(k));
          }
        } else if (!isNoValue(val)) {
          this.fail(`range can't iterate over ${formatV(val)}`, r.pos);
        }
      } catch (e) {
        if (e !== BREAK) throw e;
        return;
      }
      if (!ran && r.elseList) this.walk(dot, r.elseList);
    } finally {
      this.pop(outer);
    }
  }

  private walkTemplate(dot: GoValue, t: TemplateNode): void {
    this.at = t.pos;
    const tree = this.tmpl.trees.get(t.name);
    if (!tree) this.fail(`template ${JSON.stringify(t.name)} not defined`, t.pos);
    if (this.depth >= this.limits.maxDepth) {
      throw new GoLimitError(`template calls nest deeper than ${this.limits.maxDepth}`);
    }
    const newDot = t.pipe ? this.evalPipeline(dot, t.pipe) : undefined;
    const savedVars = this.vars;
    this.vars = [{ name: '$', value: newDot }];
    this.depth++;
    try {
      this.walk(newDot, tree);
    } finally {
      this.depth--;
      this.vars = savedVars;
    }
  }

  // ---- evaluation ----

  private evalPipeline(dot: GoValue, pipe: PipeNode): GoValue {
    this.at = pipe.pos;
    let value: GoValue;
    let hasFinal = false;
    for (const cmd of pipe.cmds) {
      value = this.evalCommand(dot, cmd, value, hasFinal);
      hasFinal = true;
      // An interface{} holding nil becomes "no value" (Go digs into the interface).
      if (value === null) value = undefined;
    }
    for (const v of pipe.decl) {
      if (pipe.isAssign) this.setVar(v.ident[0]!, value);
      else this.push(v.ident[0]!, value);
    }
    return value;
  }

  private notAFunction(args: ArgNode[], hasFinal: boolean): void {
    if (args.length > 1 || hasFinal) this.fail(`can't give argument to non-function ${argString(args[0]!)}`);
  }

  private evalCommand(dot: GoValue, cmd: CommandNode, final: GoValue, hasFinal: boolean): GoValue {
    const first = cmd.args[0]!;
    this.at = first.pos;
    this.charge(1);
    switch (first.type) {
      case 'field':
        return this.evalFieldChain(dot, '', first, first.ident, cmd.args, final, hasFinal);
      case 'chain':
        return this.evalChainNode(dot, first, cmd.args, final, hasFinal);
      case 'identifier':
        return this.evalFunction(dot, first, cmd.args, final, hasFinal);
      case 'pipe':
        this.notAFunction(cmd.args, hasFinal);
        return this.evalPipeline(dot, first);
      case 'variable':
        return this.evalVariableNode(first, cmd.args, final, hasFinal);
    }
    this.notAFunction(cmd.args, hasFinal);
    switch (first.type) {
      case 'bool':
        return first.value;
      case 'dot':
        return dot;
      case 'nil':
        this.fail('nil is not a command');
        break;
      case 'number':
        return this.idealConstant(first);
      case 'string':
        return first.text;
    }
    this.fail(`can't evaluate command ${argString(first)}`);
  }

  private idealConstant(n: NumberNode): GoValue {
    this.at = n.pos;
    if (n.ideal === 'overflow') this.fail(`${n.text} overflows int`);
    return n.ideal;
  }

  private evalVariableNode(v: VariableNode, args: ArgNode[], final: GoValue, hasFinal: boolean): GoValue {
    this.at = v.pos;
    const value = this.varValue(v.ident[0]!);
    if (v.ident.length === 1) {
      this.notAFunction(args, hasFinal);
      return value;
    }
    return this.evalFieldChain(value, v.ident[0]!, v, v.ident.slice(1), args, final, hasFinal);
  }

  private evalChainNode(
    dot: GoValue,
    chain: ChainNode,
    args: ArgNode[],
    final: GoValue,
    hasFinal: boolean,
  ): GoValue {
    this.at = chain.pos;
    if (chain.node.type === 'nil') this.fail(`indirection through explicit nil in ${argString(chain)}`);
    const receiver = this.evalArg(dot, undefined, chain.node);
    return this.evalFieldChain(
      receiver,
      `(${argString(chain.node)})`,
      chain,
      chain.field,
      args,
      final,
      hasFinal,
    );
  }

  private evalFieldChain(
    receiver: GoValue,
    prefix: string,
    node: FieldNode | VariableNode | ChainNode,
    ident: string[],
    args: ArgNode[],
    final: GoValue,
    hasFinal: boolean,
  ): GoValue {
    let path = prefix;
    const n = ident.length;
    for (let i = 0; i < n - 1; i++) {
      path += `.${ident[i]!}`;
      receiver = this.evalField(ident[i]!, path, node, [], undefined, false, receiver);
    }
    path += `.${ident[n - 1]!}`;
    return this.evalField(ident[n - 1]!, path, node, args, final, hasFinal, receiver);
  }

  private evalField(
    fieldName: string,
    path: string,
    node: FieldNode | VariableNode | ChainNode,
    args: ArgNode[],
    _final: GoValue,
    hasFinal: boolean,
    receiver: GoValue,
  ): GoValue {
    this.at = node.pos;
    if (isNoValue(receiver)) return receiver;
    if (receiver === null) this.fail(`nil pointer evaluating interface {}.${fieldName}`);
    const hasArgs = args.length > 1 || hasFinal;
    if (receiver instanceof Map) {
      if (hasArgs) this.fail(`${fieldName} is not a method but has arguments`);
      if (receiver.has(fieldName)) return receiver.get(fieldName);
      return new Missing(path);
    }
    this.fail(`can't evaluate field ${fieldName} in type ${typeString(receiver)}`);
  }

  private evalFunction(
    dot: GoValue,
    node: IdentifierNode,
    args: ArgNode[],
    final: GoValue,
    hasFinal: boolean,
  ): GoValue {
    this.at = node.pos;
    const name = node.ident;
    if (name === 'and' || name === 'or') return this.evalAndOr(dot, name, args.slice(1), final, hasFinal);
    const fn = this.funcs.get(name);
    if (!fn) this.fail(`${JSON.stringify(name)} is not a defined function`);
    const argNodes = args.slice(1);
    const numIn = argNodes.length + (hasFinal ? 1 : 0);
    const numFixed = fn.variadic ? fn.params.length : argNodes.length;
    if (fn.variadic) {
      if (numIn < numFixed) {
        this.fail(
          `wrong number of args for ${name}: want at least ${fn.params.length} got ${argNodes.length}`,
        );
      }
    } else if (numIn !== fn.params.length) {
      this.fail(`wrong number of args for ${name}: want ${fn.params.length} got ${numIn}`);
    }
    const argv: GoValue[] = [];
    let i = 0;
    for (; i < numFixed && i < argNodes.length; i++)
      argv.push(this.evalArg(dot, fn.params[i]!, argNodes[i]!));
    if (fn.variadic) for (; i < argNodes.length; i++) argv.push(this.evalArg(dot, fn.variadic, argNodes[i]!));
    if (hasFinal) {
      let t: ParamType = fn.params[fn.params.length - 1] ?? 'any';
      if (fn.variadic) t = numIn - 1 < numFixed ? fn.params[numIn - 1]! : fn.variadic;
      argv.push(this.validateType(final, t));
    }
    this.at = node.pos;
    try {
      return fn.call(argv, this.ctx);
    } catch (e) {
      if (e instanceof GoLimitError || e instanceof GoUnavailableError || e instanceof ExecError) throw e;
      if (e instanceof GoFuncError) this.fail(`error calling ${name}: ${e.message}`, node.pos);
      if (isStackOverflow(e)) throw e;
      const message = e instanceof Error ? e.message : String(e);
      this.fail(`error calling ${name}: ${message}`, node.pos);
    }
  }

  private evalAndOr(
    dot: GoValue,
    name: 'and' | 'or',
    args: ArgNode[],
    final: GoValue,
    hasFinal: boolean,
  ): GoValue {
    if (args.length + (hasFinal ? 1 : 0) < 1)
      this.fail(`wrong number of args for ${name}: want at least 1 got 0`);
    let v: GoValue;
    for (const arg of args) {
      v = this.evalArg(dot, 'value', arg);
      if (isTrue(v) === (name === 'or')) return v;
    }
    if (hasFinal) v = final;
    return v;
  }

  private evalArg(dot: GoValue, typ: ParamType | undefined, n: ArgNode): GoValue {
    this.at = n.pos;
    switch (n.type) {
      case 'dot':
        return this.validateType(dot, typ);
      case 'nil':
        if (typ === undefined || typ === 'any') return null;
        if (typ === 'value') return undefined;
        if (typ === 'map') return nilMap();
        this.fail(`cannot assign nil to ${PARAM_GO_TYPE[typ]}`);
        break;
      case 'field':
        return this.validateType(this.evalFieldChain(dot, '', n, n.ident, [n], undefined, false), typ);
      case 'variable':
        return this.validateType(this.evalVariableNode(n, [], undefined, false), typ);
      case 'pipe':
        return this.validateType(this.evalPipeline(dot, n), typ);
      case 'identifier':
        return this.validateType(this.evalFunction(dot, n, [n], undefined, false), typ);
      case 'chain':
        return this.validateType(this.evalChainNode(dot, n, [], undefined, false), typ);
    }
    switch (typ) {
      case 'bool':
        if (n.type === 'bool') return n.value;
        this.fail(`expected bool; found ${argString(n)}`);
        break;
      case 'float64':
        if (n.type === 'number' && n.isFloat) return n.float64;
        this.fail(`expected float; found ${argString(n)}`);
        break;
      case 'int':
      case 'int64':
        if (n.type === 'number' && n.isInt) return int(n.int64, typ);
        this.fail(`expected integer; found ${argString(n)}`);
        break;
      case 'string':
        if (n.type === 'string') return n.text;
        this.fail(`expected string; found ${argString(n)}`);
        break;
      case undefined:
      case 'any':
      case 'value':
        if (n.type === 'bool') return n.value;
        if (n.type === 'number') return this.idealConstant(n);
        if (n.type === 'string') return n.text;
        break;
    }
    this.fail(`can't handle ${argString(n)} for arg of type ${PARAM_GO_TYPE[typ ?? 'any']}`);
  }

  private validateType(value: GoValue, typ: ParamType | undefined): GoValue {
    if (isNoValue(value)) {
      if (typ === undefined || typ === 'value') return value;
      if (typ === 'any') return null;
      if (typ === 'map') return nilMap();
      this.fail(`invalid value; expected ${PARAM_GO_TYPE[typ]}`);
    }
    if (typ === undefined || typ === 'any' || typ === 'value') return value;
    if (value === null) this.fail(`wrong type for value; expected ${PARAM_GO_TYPE[typ]}; got interface {}`);
    const actual = typeString(value);
    if (actual !== PARAM_GO_TYPE[typ]) {
      this.fail(`wrong type for value; expected ${PARAM_GO_TYPE[typ]}; got ${actual}`);
    }
    return value;
  }
}

export function isGoMapOfAny(v: GoValue): v is GoMap {
  return v instanceof Map && mapElemType(v) === 'interface {}';
}
