// Lexer and parser for Go's text/template syntax, written to the behaviour of Go's text/template/parse:
// delimiters (default {% %} here), trim markers "{%- " and " -%}", comments, pipelines, variables,
// if/else if/range/with/else with/break/continue/define/template/block and literal syntax.

import { GoTemplateError } from './errors.ts';
import { unquote } from './strconv.ts';
import { isDigit, isLetter } from './unicode.ts';
import { type GoInt, int } from './values.ts';

type ItemType =
  | 'bool'
  | 'char'
  | 'charConstant'
  | 'complex'
  | 'assign'
  | 'declare'
  | 'eof'
  | 'field'
  | 'identifier'
  | 'leftDelim'
  | 'leftParen'
  | 'number'
  | 'pipe'
  | 'rawString'
  | 'rightDelim'
  | 'rightParen'
  | 'space'
  | 'string'
  | 'text'
  | 'variable'
  | 'block'
  | 'break'
  | 'continue'
  | 'dot'
  | 'define'
  | 'else'
  | 'end'
  | 'if'
  | 'nil'
  | 'range'
  | 'template'
  | 'with';

interface Item {
  typ: ItemType;
  val: string;
  pos: number;
}

const KEYWORDS: Record<string, ItemType> = {
  block: 'block',
  break: 'break',
  continue: 'continue',
  define: 'define',
  else: 'else',
  end: 'end',
  // Deliberate extension: the Go operator's README wrote {%- endif %}, which Go rejects (no such function).
  endif: 'end',
  if: 'if',
  range: 'range',
  nil: 'nil',
  template: 'template',
  with: 'with',
};

const EOF = -1;
const isSpaceCode = (c: number) => c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a;

function isAlphaNumericCode(c: number): boolean {
  if (c < 0x80) {
    return c === 0x5f || (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
  }
  return c !== EOF && (isLetter(c) || isDigit(c));
}

export interface Position {
  line: number;
  column: number;
}

export function positionOf(input: string, pos: number): Position {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < pos && i < input.length; i++) {
    if (input.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: pos - lineStart + 1 };
}

const enum_ = {
  text: 0,
  leftDelim: 1,
  comment: 2,
  rightDelim: 3,
  insideAction: 4,
  space: 5,
  identifier: 6,
  variable: 7,
  field: 8,
  char: 9,
  number: 10,
  quote: 11,
  rawQuote: 12,
  done: 13,
} as const;
type LexState = (typeof enum_)[keyof typeof enum_];

/** The lexer of Go's text/template/parse, as a state machine over UTF-16 code units and code points. */
class Lexer {
  private readonly input: string;
  private readonly left: string;
  private readonly right: string;
  private pos = 0;
  private start = 0;
  private parenDepth = 0;
  private width = 0;
  readonly items: Item[] = [];

  constructor(input: string, left: string, right: string) {
    this.input = input;
    this.left = left;
    this.right = right;
  }

  private fail(message: string): never {
    throw new GoTemplateError('GO_TEMPLATE_PARSE', message, positionOf(this.input, this.start));
  }

  /** Next code point, or EOF; backup() undoes one next(). */
  private next(): number {
    if (this.pos >= this.input.length) {
      this.width = 0;
      return EOF;
    }
    const c = this.input.codePointAt(this.pos)!;
    this.width = c > 0xffff ? 2 : 1;
    this.pos += this.width;
    return c;
  }

  private backup(): void {
    this.pos -= this.width;
    this.width = 0;
  }

  private peek(): number {
    if (this.pos >= this.input.length) return EOF;
    return this.input.codePointAt(this.pos)!;
  }

  private emit(typ: ItemType): void {
    this.items.push({ typ, val: this.input.slice(this.start, this.pos), pos: this.start });
    this.start = this.pos;
  }

  private ignore(): void {
    this.start = this.pos;
  }

  private hasLeftTrimMarker(at: number): boolean {
    return this.input.charCodeAt(at) === 0x2d && isSpaceCode(this.input.charCodeAt(at + 1));
  }

  private hasRightTrimMarker(at: number): boolean {
    return isSpaceCode(this.input.charCodeAt(at)) && this.input.charCodeAt(at + 1) === 0x2d;
  }

  private atRightDelim(): [boolean, boolean] {
    if (this.hasRightTrimMarker(this.pos) && this.input.startsWith(this.right, this.pos + 2))
      return [true, true];
    if (this.input.startsWith(this.right, this.pos)) return [true, false];
    return [false, false];
  }

  private skipSpaces(): void {
    while (this.pos < this.input.length && isSpaceCode(this.input.charCodeAt(this.pos))) this.pos++;
  }

  run(): Item[] {
    let state: LexState = enum_.text;
    for (;;) {
      switch (state) {
        case enum_.text:
          state = this.lexText();
          break;
        case enum_.leftDelim:
          state = this.lexLeftDelim();
          break;
        case enum_.comment:
          state = this.lexComment();
          break;
        case enum_.rightDelim:
          state = this.lexRightDelim();
          break;
        case enum_.insideAction:
          state = this.lexInsideAction();
          break;
        case enum_.space:
          state = this.lexSpace();
          break;
        case enum_.identifier:
          state = this.lexIdentifier();
          break;
        case enum_.variable:
          state = this.lexVariable();
          break;
        case enum_.field:
          state = this.lexFieldOrVariable('field');
          break;
        case enum_.char:
          state = this.lexQuoted(0x27, 'charConstant', 'unterminated character constant');
          break;
        case enum_.number:
          state = this.lexNumber();
          break;
        case enum_.quote:
          state = this.lexQuoted(0x22, 'string', 'unterminated quoted string');
          break;
        case enum_.rawQuote:
          state = this.lexRawQuote();
          break;
        case enum_.done:
          return this.items;
      }
    }
  }

  private lexText(): LexState {
    const x = this.input.indexOf(this.left, this.pos);
    if (x >= 0) {
      if (x > this.pos) {
        let textEnd = x;
        if (this.hasLeftTrimMarker(x + this.left.length)) {
          while (textEnd > this.start && isSpaceCode(this.input.charCodeAt(textEnd - 1))) textEnd--;
        }
        this.pos = textEnd;
        if (textEnd > this.start) this.emit('text');
        this.pos = x;
        this.ignore();
      }
      return enum_.leftDelim;
    }
    this.pos = this.input.length;
    if (this.pos > this.start) this.emit('text');
    this.items.push({ typ: 'eof', val: '', pos: this.pos });
    return enum_.done;
  }

  private lexLeftDelim(): LexState {
    this.pos += this.left.length;
    const after = this.hasLeftTrimMarker(this.pos) ? 2 : 0;
    if (this.input.startsWith('/*', this.pos + after)) {
      this.pos += after;
      this.ignore();
      return enum_.comment;
    }
    this.emit('leftDelim');
    this.pos += after;
    this.ignore();
    this.parenDepth = 0;
    return enum_.insideAction;
  }

  private lexComment(): LexState {
    this.pos += 2;
    const x = this.input.indexOf('*/', this.pos);
    if (x < 0) this.fail('unclosed comment');
    this.pos = x + 2;
    const [delim, trim] = this.atRightDelim();
    if (!delim) this.fail('comment ends before closing delimiter');
    if (trim) this.pos += 2;
    this.pos += this.right.length;
    if (trim) this.skipSpaces();
    this.ignore();
    return enum_.text;
  }

  private lexRightDelim(): LexState {
    const [, trim] = this.atRightDelim();
    if (trim) {
      this.pos += 2;
      this.ignore();
    }
    this.pos += this.right.length;
    this.emit('rightDelim');
    if (trim) {
      this.skipSpaces();
      this.ignore();
    }
    return enum_.text;
  }

  private lexInsideAction(): LexState {
    const [delim] = this.atRightDelim();
    if (delim) {
      if (this.parenDepth === 0) return enum_.rightDelim;
      this.fail('unclosed left paren');
    }
    const r = this.next();
    if (r === EOF) this.fail('unclosed action');
    if (isSpaceCode(r)) {
      this.backup();
      return enum_.space;
    }
    switch (r) {
      case 0x3d: // =
        this.emit('assign');
        return enum_.insideAction;
      case 0x3a: // :
        if (this.next() !== 0x3d) this.fail('expected :=');
        this.emit('declare');
        return enum_.insideAction;
      case 0x7c: // |
        this.emit('pipe');
        return enum_.insideAction;
      case 0x22:
        return enum_.quote;
      case 0x60:
        return enum_.rawQuote;
      case 0x24: // $
        return enum_.variable;
      case 0x27:
        return enum_.char;
      case 0x28:
        this.parenDepth++;
        this.emit('leftParen');
        return enum_.insideAction;
      case 0x29:
        this.parenDepth--;
        if (this.parenDepth < 0) this.fail('unexpected right paren');
        this.emit('rightParen');
        return enum_.insideAction;
    }
    if (r === 0x2e && this.pos < this.input.length) {
      const c = this.input.charCodeAt(this.pos);
      if (c < 0x30 || c > 0x39) return enum_.field;
    }
    if (r === 0x2e || r === 0x2b || r === 0x2d || (r >= 0x30 && r <= 0x39)) {
      this.backup();
      return enum_.number;
    }
    if (isAlphaNumericCode(r)) {
      this.backup();
      return enum_.identifier;
    }
    if (r < 0x7f && r >= 0x20) {
      this.emit('char');
      return enum_.insideAction;
    }
    this.fail(`unrecognized character in action: U+${r.toString(16).toUpperCase().padStart(4, '0')}`);
  }

  private lexSpace(): LexState {
    let numSpaces = 0;
    while (isSpaceCode(this.peek())) {
      this.pos++;
      numSpaces++;
    }
    if (this.hasRightTrimMarker(this.pos - 1) && this.input.startsWith(this.right, this.pos + 1)) {
      this.pos--;
      if (numSpaces === 1) return enum_.rightDelim;
    }
    this.emit('space');
    return enum_.insideAction;
  }

  private atTerminator(): boolean {
    const r = this.peek();
    if (isSpaceCode(r)) return true;
    switch (r) {
      case EOF:
      case 0x2e:
      case 0x2c:
      case 0x7c:
      case 0x3a:
      case 0x29:
      case 0x28:
        return true;
    }
    return this.input.startsWith(this.right, this.pos);
  }

  private badCharacter(r: number): never {
    this.fail(`bad character ${JSON.stringify(r === EOF ? '' : String.fromCodePoint(r))}`);
  }

  private lexIdentifier(): LexState {
    for (;;) {
      const r = this.next();
      if (!isAlphaNumericCode(r)) {
        this.backup();
        const word = this.input.slice(this.start, this.pos);
        if (!this.atTerminator()) this.badCharacter(r);
        const kw = Object.hasOwn(KEYWORDS, word) ? KEYWORDS[word] : undefined;
        if (kw) this.emit(kw);
        else if (word === 'true' || word === 'false') this.emit('bool');
        else this.emit('identifier');
        return enum_.insideAction;
      }
    }
  }

  private lexVariable(): LexState {
    if (this.atTerminator()) {
      this.emit('variable');
      return enum_.insideAction;
    }
    return this.lexFieldOrVariable('variable');
  }

  private lexFieldOrVariable(typ: 'field' | 'variable'): LexState {
    if (this.atTerminator()) {
      this.emit(typ === 'variable' ? 'variable' : 'dot');
      return enum_.insideAction;
    }
    let r: number;
    for (;;) {
      r = this.next();
      if (!isAlphaNumericCode(r)) {
        this.backup();
        break;
      }
    }
    if (!this.atTerminator()) this.badCharacter(r);
    this.emit(typ);
    return enum_.insideAction;
  }

  private lexQuoted(quote: number, typ: ItemType, unterminated: string): LexState {
    for (;;) {
      const r = this.next();
      if (r === 0x5c) {
        const n = this.next();
        if (n !== EOF && n !== 0x0a) continue;
        this.fail(unterminated);
      }
      if (r === EOF || r === 0x0a) this.fail(unterminated);
      if (r === quote) break;
    }
    this.emit(typ);
    return enum_.insideAction;
  }

  private lexRawQuote(): LexState {
    const x = this.input.indexOf('`', this.pos);
    if (x < 0) this.fail('unterminated raw quoted string');
    this.pos = x + 1;
    this.emit('rawString');
    return enum_.insideAction;
  }

  private accept(valid: string): boolean {
    const r = this.next();
    if (r !== EOF && r < 0x80 && valid.includes(String.fromCharCode(r))) return true;
    this.backup();
    return false;
  }

  private acceptRun(valid: string): void {
    while (this.accept(valid));
  }

  private scanNumber(): boolean {
    this.accept('+-');
    let digits = '0123456789_';
    if (this.accept('0')) {
      if (this.accept('xX')) digits = '0123456789abcdefABCDEF_';
      else if (this.accept('oO')) digits = '01234567_';
      else if (this.accept('bB')) digits = '01_';
    }
    this.acceptRun(digits);
    if (this.accept('.')) this.acceptRun(digits);
    if (digits.length === 11 && this.accept('eE')) {
      this.accept('+-');
      this.acceptRun('0123456789_');
    }
    if (digits.length === 23 && this.accept('pP')) {
      this.accept('+-');
      this.acceptRun('0123456789_');
    }
    this.accept('i');
    if (isAlphaNumericCode(this.peek())) {
      this.next();
      return false;
    }
    return true;
  }

  private lexNumber(): LexState {
    if (!this.scanNumber())
      this.fail(`bad number syntax: ${JSON.stringify(this.input.slice(this.start, this.pos))}`);
    const sign = this.peek();
    if (sign === 0x2b || sign === 0x2d) {
      if (!this.scanNumber() || this.input.charCodeAt(this.pos - 1) !== 0x69) {
        this.fail(`bad number syntax: ${JSON.stringify(this.input.slice(this.start, this.pos))}`);
      }
      this.emit('complex');
      return enum_.insideAction;
    }
    this.emit('number');
    return enum_.insideAction;
  }
}

// ---- parse tree ----

interface At {
  pos: number;
}
export interface ListNode extends At {
  type: 'list';
  nodes: Node[];
}
export interface TextNode extends At {
  type: 'text';
  text: string;
}
export interface ActionNode extends At {
  type: 'action';
  pipe: PipeNode;
}
export interface BranchNode extends At {
  type: 'if' | 'range' | 'with';
  pipe: PipeNode;
  list: ListNode;
  elseList: ListNode | undefined;
}
export interface TemplateNode extends At {
  type: 'template';
  name: string;
  pipe: PipeNode | undefined;
}
export interface LoopControlNode extends At {
  type: 'break' | 'continue';
}
export type Node = ListNode | TextNode | ActionNode | BranchNode | TemplateNode | LoopControlNode;

/** {{end}} and {{else}} close lists while parsing; they never appear in the tree. */
interface EndOrElse {
  type: 'end' | 'else';
  pos: number;
  elseKind?: 'if' | 'with';
}
const isEndOrElse = (n: Node | EndOrElse): n is EndOrElse => n.type === 'end' || n.type === 'else';

export interface PipeNode extends At {
  type: 'pipe';
  isAssign: boolean;
  decl: VariableNode[];
  cmds: CommandNode[];
}
export interface CommandNode extends At {
  type: 'command';
  args: ArgNode[];
}
export interface FieldNode extends At {
  type: 'field';
  ident: string[];
}
export interface ChainNode extends At {
  type: 'chain';
  node: ArgNode;
  field: string[];
}
export interface IdentifierNode extends At {
  type: 'identifier';
  ident: string;
}
export interface VariableNode extends At {
  type: 'variable';
  ident: string[];
}
export interface DotNode extends At {
  type: 'dot';
}
export interface NilNode extends At {
  type: 'nil';
}
export interface BoolNode extends At {
  type: 'bool';
  value: boolean;
}
export interface NumberNode extends At {
  type: 'number';
  text: string;
  isInt: boolean;
  isUint: boolean;
  isFloat: boolean;
  int64: bigint;
  uint64: bigint;
  float64: number;
  /** The constant's value where Go wants an untyped constant (exec's idealConstant), computed once. */
  ideal: number | GoInt | 'overflow' | undefined;
}
export interface StringNode extends At {
  type: 'string';
  quoted: string;
  text: string;
}
export type ArgNode =
  | FieldNode
  | ChainNode
  | IdentifierNode
  | VariableNode
  | DotNode
  | NilNode
  | BoolNode
  | NumberNode
  | StringNode
  | PipeNode;

export function argString(n: ArgNode): string {
  switch (n.type) {
    case 'field':
      return n.ident.map((i) => `.${i}`).join('');
    case 'chain':
      return (
        (n.node.type === 'pipe' ? `(${argString(n.node)})` : argString(n.node)) +
        n.field.map((f) => `.${f}`).join('')
      );
    case 'identifier':
      return n.ident;
    case 'variable':
      return n.ident.join('.');
    case 'dot':
      return '.';
    case 'nil':
      return 'nil';
    case 'bool':
      return String(n.value);
    case 'number':
      return n.text;
    case 'string':
      return n.quoted;
    case 'pipe': {
      let s = '';
      if (n.decl.length > 0)
        s = `${n.decl.map((d) => d.ident.join('.')).join(', ')} ${n.isAssign ? '=' : ':='} `;
      return s + n.cmds.map((c) => c.args.map(argString).join(' ')).join(' | ');
    }
  }
}

export interface ParsedTemplate {
  source: string;
  trees: Map<string, ListNode>;
}

const MAX_NESTING = 200;
const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;
const UINT64_MAX = (1n << 64n) - 1n;

/** strconv's underscoreOK: underscores only between digits or after a base prefix. */
function underscoreOK(s: string): boolean {
  let saw = '^';
  let i = 0;
  if (s[0] === '-' || s[0] === '+') s = s.slice(1);
  let hex = false;
  if (s.length >= 2 && s[0] === '0' && 'bBoOxX'.includes(s[1]!)) {
    i = 2;
    saw = '0';
    hex = s[1] === 'x' || s[1] === 'X';
  }
  for (; i < s.length; i++) {
    const c = s[i]!;
    if ((c >= '0' && c <= '9') || (hex && /[a-fA-F]/.test(c))) {
      saw = '0';
      continue;
    }
    if (c === '_') {
      if (saw !== '0') return false;
      saw = '_';
      continue;
    }
    if (saw === '_') return false;
    saw = '!';
  }
  return saw !== '_';
}

function parseGoInt(text: string): bigint | undefined {
  const m = /^([+-]?)(0[xX][0-9a-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+|0[0-7_]*|[1-9][0-9_]*)$/.exec(text);
  if (!m || !underscoreOK(text)) return undefined;
  const body = m[2]!.replaceAll('_', '');
  let v: bigint;
  if (/^0[xX]/.test(body)) v = BigInt(`0x${body.slice(2)}`);
  else if (/^0[oO]/.test(body)) v = BigInt(`0o${body.slice(2)}`);
  else if (/^0[bB]/.test(body)) v = BigInt(`0b${body.slice(2)}`);
  else if (body.length > 1 && body[0] === '0') v = BigInt(`0o${body.slice(1)}`);
  else v = BigInt(body);
  return m[1] === '-' ? -v : v;
}

function parseGoFloatLiteral(text: string): number | undefined {
  const t = text.replaceAll('_', '');
  if (/^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$/.test(t)) return Number(t);
  const hex = /^([+-]?)0[xX]([0-9a-fA-F]*)\.?([0-9a-fA-F]*)[pP]([+-]?[0-9]+)$/.exec(t);
  if (hex) {
    const v = Number.parseInt(hex[2]! + hex[3]! || '0', 16) * 2 ** (Number(hex[4]) - 4 * hex[3]!.length);
    return hex[1] === '-' ? -v : v;
  }
  return undefined;
}

class Parser {
  private readonly items: Item[];
  private readonly source: string;
  private readonly hasFunction: (name: string) => boolean;
  readonly trees: Map<string, ListNode>;
  private i = 0;
  private vars: string[] = ['$'];
  private rangeDepth = 0;
  private depth = 0;

  constructor(
    source: string,
    items: Item[],
    trees: Map<string, ListNode>,
    hasFunction: (n: string) => boolean,
  ) {
    this.source = source;
    this.items = items;
    this.trees = trees;
    this.hasFunction = hasFunction;
  }

  private fail(message: string, pos?: number): never {
    const at = pos ?? this.items[Math.max(0, this.i - 1)]?.pos ?? 0;
    throw new GoTemplateError('GO_TEMPLATE_PARSE', message, positionOf(this.source, at));
  }

  private next(): Item {
    const it = this.items[this.i] ?? this.items[this.items.length - 1]!;
    this.i = Math.min(this.i + 1, this.items.length);
    return it;
  }
  private backup(n = 1): void {
    this.i -= n;
  }
  private peek(): Item {
    return this.items[this.i] ?? this.items[this.items.length - 1]!;
  }
  private nextNonSpace(): Item {
    let t = this.next();
    while (t.typ === 'space') t = this.next();
    return t;
  }
  private peekNonSpace(): Item {
    const t = this.nextNonSpace();
    this.backup();
    return t;
  }

  private describe(t: Item): string {
    switch (t.typ) {
      case 'eof':
        return 'EOF';
      case 'rightDelim':
        return 'right delimiter';
      case 'leftDelim':
        return 'left delimiter';
      case 'space':
        return 'space';
      default:
        return JSON.stringify(t.val);
    }
  }

  private unexpected(t: Item, context: string): never {
    this.fail(`unexpected ${this.describe(t)} in ${context}`, t.pos);
  }

  private expect(typ: ItemType, context: string): Item {
    const t = this.nextNonSpace();
    if (t.typ !== typ) this.unexpected(t, context);
    return t;
  }

  parseTop(): ListNode {
    const root: ListNode = { type: 'list', pos: this.peek().pos, nodes: [] };
    while (this.peek().typ !== 'eof') {
      if (this.peek().typ === 'leftDelim') {
        const save = this.i;
        this.next();
        if (this.nextNonSpace().typ === 'define') {
          this.parseDefinition();
          continue;
        }
        this.i = save;
      }
      const n = this.textOrAction();
      if (isEndOrElse(n)) this.fail(`unexpected {{${n.type}}}`, n.pos);
      root.nodes.push(n);
    }
    return root;
  }

  private withFreshScope<T>(f: () => T): T {
    const saved = { vars: this.vars, rangeDepth: this.rangeDepth };
    this.vars = ['$'];
    this.rangeDepth = 0;
    try {
      return f();
    } finally {
      this.vars = saved.vars;
      this.rangeDepth = saved.rangeDepth;
    }
  }

  private addTree(name: string, root: ListNode, pos: number): void {
    const existing = this.trees.get(name);
    if (existing === undefined || isEmptyTree(existing)) {
      this.trees.set(name, root);
      return;
    }
    if (!isEmptyTree(root))
      this.fail(`template: multiple definition of template ${JSON.stringify(name)}`, pos);
  }

  private parseDefinition(): void {
    const context = 'define clause';
    const nameTok = this.nextNonSpace();
    if (nameTok.typ !== 'string' && nameTok.typ !== 'rawString') this.unexpected(nameTok, context);
    const name = this.unquoteTok(nameTok);
    this.expect('rightDelim', context);
    this.withFreshScope(() => {
      const [list, end] = this.itemList();
      if (end.type !== 'end') this.fail(`unexpected {{${end.type}}} in ${context}`, end.pos);
      this.addTree(name, list, nameTok.pos);
    });
  }

  private unquoteTok(t: Item): string {
    try {
      return unquote(t.val);
    } catch {
      this.fail(`invalid syntax in ${t.val}`, t.pos);
    }
  }

  private itemList(): [ListNode, EndOrElse] {
    const list: ListNode = { type: 'list', pos: this.peekNonSpace().pos, nodes: [] };
    while (this.peekNonSpace().typ !== 'eof') {
      const n = this.textOrAction();
      if (isEndOrElse(n)) return [list, n];
      list.nodes.push(n);
    }
    this.fail('unexpected EOF');
  }

  private textOrAction(): Node | EndOrElse {
    const t = this.nextNonSpace();
    switch (t.typ) {
      case 'text':
        return { type: 'text', pos: t.pos, text: t.val };
      case 'leftDelim':
        return this.action();
      default:
        this.unexpected(t, 'input');
    }
  }

  private action(): Node | EndOrElse {
    const t = this.nextNonSpace();
    switch (t.typ) {
      case 'block':
        return this.blockControl();
      case 'break':
      case 'continue': {
        const n = this.nextNonSpace();
        if (n.typ !== 'rightDelim') this.unexpected(n, `{{${t.typ}}}`);
        if (this.rangeDepth === 0) this.fail(`{{${t.typ}}} outside {{range}}`, t.pos);
        return { type: t.typ, pos: t.pos };
      }
      case 'else': {
        const p = this.peekNonSpace();
        if (p.typ === 'if' || p.typ === 'with') return { type: 'else', pos: p.pos, elseKind: p.typ };
        this.expect('rightDelim', 'else');
        return { type: 'else', pos: t.pos };
      }
      case 'end':
        this.expect('rightDelim', 'end');
        return { type: 'end', pos: t.pos };
      case 'if':
        return this.parseControl('if', t.pos);
      case 'range':
        return this.parseControl('range', t.pos);
      case 'with':
        return this.parseControl('with', t.pos);
      case 'template':
        return this.templateControl();
    }
    this.backup();
    const pos = this.peek().pos;
    return { type: 'action', pos, pipe: this.pipeline('command', 'rightDelim') };
  }

  /** Bounds nesting of parentheses and control structures (Go allows 10000; we keep the stack small). */
  private enter(pos: number): void {
    if (this.depth >= MAX_NESTING) {
      throw new GoTemplateError(
        'GO_TEMPLATE_LIMIT',
        `template nesting is too deep (more than ${MAX_NESTING} levels)`,
        positionOf(this.source, pos),
      );
    }
    this.depth++;
  }

  private parseControl(context: 'if' | 'range' | 'with', pos: number): BranchNode {
    const mark = this.vars.length;
    this.enter(pos);
    try {
      const pipe = this.pipeline(context, 'rightDelim');
      if (context === 'range') this.rangeDepth++;
      const [list, next] = this.itemList();
      if (context === 'range') this.rangeDepth--;
      let elseList: ListNode | undefined;
      if (next.type === 'else') {
        if (context === 'if' && next.elseKind === 'if') {
          this.nextNonSpace();
          elseList = { type: 'list', pos: next.pos, nodes: [this.parseControl('if', next.pos)] };
        } else if (context === 'with' && next.elseKind === 'with') {
          this.nextNonSpace();
          elseList = { type: 'list', pos: next.pos, nodes: [this.parseControl('with', next.pos)] };
        } else {
          if (next.elseKind) this.fail(`unexpected ${JSON.stringify(next.elseKind)} in else`, next.pos);
          const [l, end] = this.itemList();
          if (end.type !== 'end') this.fail(`expected end; found {{${end.type}}}`, end.pos);
          elseList = l;
        }
      }
      return { type: context, pos, pipe, list, elseList };
    } finally {
      this.vars.length = mark;
      this.depth--;
    }
  }

  private blockControl(): TemplateNode {
    const context = 'block clause';
    const t = this.nextNonSpace();
    if (t.typ !== 'string' && t.typ !== 'rawString') this.unexpected(t, context);
    const name = this.unquoteTok(t);
    const pipe = this.pipeline(context, 'rightDelim');
    this.withFreshScope(() => {
      const [list, end] = this.itemList();
      if (end.type !== 'end') this.fail(`unexpected {{${end.type}}} in ${context}`, end.pos);
      this.addTree(name, list, t.pos);
    });
    return { type: 'template', pos: t.pos, name, pipe };
  }

  private templateControl(): TemplateNode {
    const context = 'template clause';
    const t = this.nextNonSpace();
    if (t.typ !== 'string' && t.typ !== 'rawString') this.unexpected(t, context);
    const name = this.unquoteTok(t);
    let pipe: PipeNode | undefined;
    if (this.nextNonSpace().typ !== 'rightDelim') {
      this.backup();
      pipe = this.pipeline(context, 'rightDelim');
    }
    return { type: 'template', pos: t.pos, name, pipe };
  }

  private pipeline(context: string, end: ItemType): PipeNode {
    const start = this.peekNonSpace();
    const pipe: PipeNode = { type: 'pipe', pos: start.pos, isAssign: false, decl: [], cmds: [] };
    for (;;) {
      const v = this.peekNonSpace();
      if (v.typ !== 'variable') break;
      const varIndex = this.i;
      this.next();
      const next = this.peekNonSpace();
      if (next.typ === 'assign' || next.typ === 'declare') {
        pipe.isAssign = next.typ === 'assign';
        this.nextNonSpace();
        pipe.decl.push({ type: 'variable', pos: v.pos, ident: [v.val] });
        this.vars.push(v.val);
        break;
      }
      if (next.typ === 'char' && next.val === ',') {
        this.nextNonSpace();
        pipe.decl.push({ type: 'variable', pos: v.pos, ident: [v.val] });
        this.vars.push(v.val);
        if (context === 'range' && pipe.decl.length < 2) {
          const p = this.peekNonSpace().typ;
          if (p === 'variable' || p === 'rightDelim' || p === 'rightParen') continue;
          this.fail('range can only initialize variables', v.pos);
        }
        this.fail(`too many declarations in ${context}`, v.pos);
      }
      // Not a declaration: the variable starts a command.
      this.i = varIndex;
      break;
    }
    for (;;) {
      const t = this.nextNonSpace();
      if (t.typ === end) {
        this.checkPipeline(pipe, context, t.pos);
        return pipe;
      }
      switch (t.typ) {
        case 'bool':
        case 'charConstant':
        case 'complex':
        case 'dot':
        case 'field':
        case 'identifier':
        case 'number':
        case 'nil':
        case 'rawString':
        case 'string':
        case 'variable':
        case 'leftParen':
          this.backup();
          pipe.cmds.push(this.command());
          break;
        default:
          this.unexpected(t, context);
      }
    }
  }

  private checkPipeline(pipe: PipeNode, context: string, pos: number): void {
    if (pipe.cmds.length === 0) this.fail(`missing value for ${context}`, pos);
    pipe.cmds.slice(1).forEach((c, i) => {
      const t = c.args[0]!.type;
      if (t === 'bool' || t === 'dot' || t === 'nil' || t === 'number' || t === 'string') {
        this.fail(`non executable command in pipeline stage ${i + 2}`, c.pos);
      }
    });
  }

  private command(): CommandNode {
    const cmd: CommandNode = { type: 'command', pos: this.peekNonSpace().pos, args: [] };
    for (;;) {
      this.peekNonSpace();
      const operand = this.operand();
      if (operand) cmd.args.push(operand);
      const t = this.next();
      if (t.typ === 'space') continue;
      if (t.typ === 'rightDelim' || t.typ === 'rightParen') this.backup();
      else if (t.typ !== 'pipe') this.unexpected(t, 'operand');
      break;
    }
    if (cmd.args.length === 0) this.fail('empty command', cmd.pos);
    return cmd;
  }

  private operand(): ArgNode | undefined {
    let node = this.term();
    if (!node) return undefined;
    if (this.peek().typ === 'field') {
      const fields: string[] = [];
      const pos = this.peek().pos;
      while (this.peek().typ === 'field') fields.push(this.next().val.slice(1));
      switch (node.type) {
        case 'field':
          node = { type: 'field', pos: node.pos, ident: [...node.ident, ...fields] };
          break;
        case 'variable':
          node = { type: 'variable', pos: node.pos, ident: [...node.ident, ...fields] };
          break;
        case 'bool':
        case 'string':
        case 'number':
        case 'nil':
        case 'dot':
          this.fail(`unexpected . after term ${JSON.stringify(argString(node))}`, pos);
          break;
        default:
          node = { type: 'chain', pos, node, field: fields };
      }
    }
    return node;
  }

  private term(): ArgNode | undefined {
    const t = this.nextNonSpace();
    switch (t.typ) {
      case 'identifier':
        if (!this.hasFunction(t.val)) this.fail(`function ${JSON.stringify(t.val)} not defined`, t.pos);
        return { type: 'identifier', pos: t.pos, ident: t.val };
      case 'dot':
        return { type: 'dot', pos: t.pos };
      case 'nil':
        return { type: 'nil', pos: t.pos };
      case 'variable':
        return this.useVar(t);
      case 'field':
        return { type: 'field', pos: t.pos, ident: [t.val.slice(1)] };
      case 'bool':
        return { type: 'bool', pos: t.pos, value: t.val === 'true' };
      case 'charConstant':
      case 'complex':
      case 'number':
        return this.newNumber(t);
      case 'leftParen': {
        this.enter(t.pos);
        try {
          return this.pipeline('parenthesized pipeline', 'rightParen');
        } finally {
          this.depth--;
        }
      }
      case 'string':
      case 'rawString':
        return { type: 'string', pos: t.pos, quoted: t.val, text: this.unquoteTok(t) };
    }
    this.backup();
    return undefined;
  }

  private useVar(t: Item): VariableNode {
    const parts = t.val.split('.');
    const name = parts[0]!;
    if (!this.vars.includes(name)) this.fail(`undefined variable ${JSON.stringify(name)}`, t.pos);
    return { type: 'variable', pos: t.pos, ident: parts };
  }

  private newNumber(t: Item): NumberNode {
    const n: NumberNode = {
      type: 'number',
      pos: t.pos,
      text: t.val,
      isInt: false,
      isUint: false,
      isFloat: false,
      int64: 0n,
      uint64: 0n,
      float64: 0,
      ideal: undefined,
    };
    if (t.typ === 'charConstant') {
      let r: number;
      try {
        r = unquote(t.val).codePointAt(0)!;
      } catch {
        this.fail(`malformed character constant: ${t.val}`, t.pos);
      }
      n.int64 = BigInt(r);
      n.uint64 = BigInt(r);
      n.float64 = r;
      n.isInt = n.isUint = n.isFloat = true;
      n.ideal = int(n.int64);
      return n;
    }
    if (t.typ === 'complex' || t.val.endsWith('i')) {
      this.fail(`complex numbers are not supported: ${t.val}`, t.pos);
    }
    const iv = parseGoInt(t.val);
    if (iv !== undefined) {
      if (iv >= 0n && iv <= UINT64_MAX) {
        n.isUint = true;
        n.uint64 = iv;
      }
      if (iv >= INT64_MIN && iv <= INT64_MAX) {
        n.isInt = true;
        n.int64 = iv;
      }
    }
    if (n.isInt) {
      n.isFloat = true;
      n.float64 = Number(n.int64);
    } else if (n.isUint) {
      n.isFloat = true;
      n.float64 = Number(n.uint64);
    } else {
      const f = parseGoFloatLiteral(t.val);
      if (f !== undefined && Number.isFinite(f)) {
        if (!/[.eEpP]/.test(t.val)) this.fail(`integer overflow: ${JSON.stringify(t.val)}`, t.pos);
        n.isFloat = true;
        n.float64 = f;
        if (Number.isInteger(f) && f >= -(2 ** 63) && f < 2 ** 63) {
          n.isInt = true;
          n.int64 = BigInt(f);
        }
        if (Number.isInteger(f) && f >= 0 && f < 2 ** 64) {
          n.isUint = true;
          n.uint64 = BigInt(f);
        }
      }
    }
    if (!n.isInt && !n.isUint && !n.isFloat) {
      this.fail(`illegal number syntax: ${JSON.stringify(t.val)}`, t.pos);
    }
    const isHexInt = /^[+-]?0[xX]/.test(n.text) && !/[pP]/.test(n.text);
    if (n.isFloat && !isHexInt && /[.eEpP]/.test(n.text)) n.ideal = n.float64;
    else if (n.isInt) n.ideal = int(n.int64);
    else if (n.isUint) n.ideal = 'overflow';
    return n;
  }
}

function isEmptyTree(n: ListNode): boolean {
  return n.nodes.every((c) => c.type === 'text' && c.text.trim() === '');
}

export function parseTemplate(
  source: string,
  opts: { leftDelim: string; rightDelim: string; hasFunction: (name: string) => boolean },
): ParsedTemplate {
  const items = new Lexer(source, opts.leftDelim, opts.rightDelim).run();
  const trees = new Map<string, ListNode>();
  const parser = new Parser(source, items, trees, opts.hasFunction);
  const root = parser.parseTop();
  const existing = trees.get('');
  if (existing === undefined || isEmptyTree(existing)) trees.set('', root);
  else if (!isEmptyTree(root)) {
    throw new GoTemplateError('GO_TEMPLATE_PARSE', 'template: multiple definition of template ""');
  }
  return { source, trees };
}
