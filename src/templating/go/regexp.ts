// A regular-expression engine for Go's RE2 syntax, run by a Pike VM: time is linear in the input times the
// program size (no backtracking, so no catastrophic patterns), and every step is charged to the render's
// work budget. Semantics follow Go's regexp: leftmost-first matching, Perl flags (i, m, s, U), ASCII \d \w
// \s \b, Unicode \pL/\p{Greek}, POSIX [[:alpha:]], and Go's rules for FindAll/ReplaceAll/Split around
// empty matches. Backreferences and lookaround do not exist in RE2 and are syntax errors, as in Go.

import { isDigit, isLetter, toLower, toUpper } from './unicode.ts';

export class RegexpSyntaxError extends Error {
  override name = 'RegexpSyntaxError';
}

const MAX_PROGRAM = 20_000;
const MAX_REPEAT = 1000;

type Pred = (r: number) => boolean;

type AstNode =
  | { op: 'char'; test: Pred }
  | { op: 'empty' }
  | { op: 'assert'; kind: AssertKind }
  | { op: 'cap'; index: number; sub: AstNode }
  | { op: 'cat'; subs: AstNode[] }
  | { op: 'alt'; subs: AstNode[] }
  | { op: 'rep'; min: number; max: number; greedy: boolean; sub: AstNode };

type AssertKind = 'bol' | 'eol' | 'bot' | 'eot' | 'wordb' | 'nwordb';

interface Flags {
  i: boolean;
  m: boolean;
  s: boolean;
  U: boolean;
}

const isWordRune = (r: number | undefined): boolean =>
  r !== undefined &&
  ((r >= 0x30 && r <= 0x39) || (r >= 0x41 && r <= 0x5a) || (r >= 0x61 && r <= 0x7a) || r === 0x5f);

/** Go's case folding leaves the dotted/dotless I (U+0130, U+0131) alone; other letters fold both ways. */
const hasFold = (r: number) => r !== 0x130 && r !== 0x131;

function foldPred(test: Pred): Pred {
  return (r) => test(r) || (hasFold(r) && (test(toLower(r)) || test(toUpper(r))));
}

const PERL_CLASSES: Record<string, Pred> = {
  d: (r) => r >= 0x30 && r <= 0x39,
  s: (r) => r === 0x09 || r === 0x0a || r === 0x0c || r === 0x0d || r === 0x20,
  w: isWordRune,
};

const POSIX_CLASSES: Record<string, Pred> = {
  alnum: (r) => (r >= 0x30 && r <= 0x39) || (r >= 0x41 && r <= 0x5a) || (r >= 0x61 && r <= 0x7a),
  alpha: (r) => (r >= 0x41 && r <= 0x5a) || (r >= 0x61 && r <= 0x7a),
  ascii: (r) => r <= 0x7f,
  blank: (r) => r === 0x09 || r === 0x20,
  cntrl: (r) => r <= 0x1f || r === 0x7f,
  digit: (r) => r >= 0x30 && r <= 0x39,
  graph: (r) => r >= 0x21 && r <= 0x7e,
  lower: (r) => r >= 0x61 && r <= 0x7a,
  print: (r) => r >= 0x20 && r <= 0x7e,
  punct: (r) =>
    (r >= 0x21 && r <= 0x2f) ||
    (r >= 0x3a && r <= 0x40) ||
    (r >= 0x5b && r <= 0x60) ||
    (r >= 0x7b && r <= 0x7e),
  space: (r) => r === 0x20 || (r >= 0x09 && r <= 0x0d),
  upper: (r) => r >= 0x41 && r <= 0x5a,
  word: isWordRune,
  xdigit: (r) => (r >= 0x30 && r <= 0x39) || (r >= 0x41 && r <= 0x46) || (r >= 0x61 && r <= 0x66),
};

function unicodeClass(name: string): Pred {
  if (name === 'Any') return () => true;
  for (const src of [`^\\p{${name}}$`, `^\\p{Script=${name}}$`]) {
    try {
      const re = new RegExp(src, 'u');
      return (r) => re.test(String.fromCodePoint(r));
    } catch {
      // try the next spelling
    }
  }
  throw new RegexpSyntaxError(`invalid character class range: \\p{${name}}`);
}

class RegexpParser {
  private readonly src: number[];
  private i = 0;
  ncap = 1;
  names: string[] = [''];

  constructor(pattern: string) {
    this.src = [...pattern].map((c) => c.codePointAt(0)!);
  }

  private peek(): number | undefined {
    return this.src[this.i];
  }
  private eat(c: string): boolean {
    if (this.src[this.i] === c.codePointAt(0)) {
      this.i++;
      return true;
    }
    return false;
  }
  private rest(n: number): string {
    return String.fromCodePoint(...this.src.slice(this.i, this.i + n));
  }

  parse(): AstNode {
    const node = this.parseAlt({ i: false, m: false, s: false, U: false }, 0);
    if (this.i < this.src.length) throw new RegexpSyntaxError('unexpected )');
    return node;
  }

  private parseAlt(flags: Flags, depth: number): AstNode {
    if (depth > 1000) throw new RegexpSyntaxError('expression nests too deeply');
    const subs: AstNode[] = [this.parseCat(flags, depth)];
    while (this.eat('|')) subs.push(this.parseCat(flags, depth));
    return subs.length === 1 ? subs[0]! : { op: 'alt', subs };
  }

  private parseCat(flags: Flags, depth: number): AstNode {
    const subs: AstNode[] = [];
    for (;;) {
      const c = this.peek();
      if (c === undefined || c === 0x7c || c === 0x29) break;
      if (c === 0x28 && this.src[this.i + 1] === 0x3f) {
        // (?flags) changes flags for the rest of this group; (?flags:re) and (?P<name>re) are groups.
        const group = this.parseGroupPrefix(flags);
        if (group.kind === 'flags') {
          flags = group.flags;
          continue;
        }
        const sub = this.parseAlt(group.flags, depth + 1);
        if (!this.eat(')')) throw new RegexpSyntaxError('missing closing )');
        const node: AstNode = group.kind === 'cap' ? { op: 'cap', index: group.index, sub } : sub;
        subs.push(this.parseRepeat(node, flags));
        continue;
      }
      if (c === 0x28) {
        this.i++;
        const index = this.ncap++;
        this.names.push('');
        const sub = this.parseAlt(flags, depth + 1);
        if (!this.eat(')')) throw new RegexpSyntaxError('missing closing )');
        subs.push(this.parseRepeat({ op: 'cap', index, sub }, flags));
        continue;
      }
      if (c === 0x2a || c === 0x2b || c === 0x3f)
        throw new RegexpSyntaxError('missing argument to repetition operator');
      if (c === 0x7b && this.repeatAhead() !== undefined) {
        throw new RegexpSyntaxError('missing argument to repetition operator');
      }
      if (c === 0x5c && this.src[this.i + 1] === 0x51) {
        // \Q...\E literal text
        this.i += 2;
        while (this.i < this.src.length && !(this.src[this.i] === 0x5c && this.src[this.i + 1] === 0x45)) {
          subs.push(this.literal(this.src[this.i]!, flags));
          this.i++;
        }
        if (this.i < this.src.length) this.i += 2;
        continue;
      }
      subs.push(this.parseRepeat(this.parseAtom(flags), flags));
    }
    if (subs.length === 0) return { op: 'empty' };
    return subs.length === 1 ? subs[0]! : { op: 'cat', subs };
  }

  private parseGroupPrefix(
    flags: Flags,
  ):
    | { kind: 'flags'; flags: Flags }
    | { kind: 'group'; flags: Flags }
    | { kind: 'cap'; index: number; flags: Flags } {
    this.i += 2; // "(?"
    if (
      this.rest(2) === 'P<' ||
      (this.peek() === 0x3c && this.src[this.i + 1] !== 0x3d && this.src[this.i + 1] !== 0x21)
    ) {
      this.i += this.peek() === 0x50 ? 2 : 1;
      let name = '';
      while (this.i < this.src.length && this.peek() !== 0x3e)
        name += String.fromCodePoint(this.src[this.i++]!);
      if (!this.eat('>')) throw new RegexpSyntaxError('invalid named capture');
      if (!/^[A-Za-z0-9_]+$/.test(name) || this.names.includes(name)) {
        throw new RegexpSyntaxError(`invalid named capture: ${name}`);
      }
      const index = this.ncap++;
      this.names.push(name);
      return { kind: 'cap', index, flags };
    }
    const next: Flags = { ...flags };
    let neg = false;
    let sawFlag = false;
    for (;;) {
      const c = this.src[this.i++];
      if (c === undefined) throw new RegexpSyntaxError('missing closing )');
      const ch = String.fromCodePoint(c);
      if (ch === 'i' || ch === 'm' || ch === 's' || ch === 'U') {
        next[ch] = !neg;
        sawFlag = true;
      } else if (ch === '-') {
        if (neg) throw new RegexpSyntaxError('invalid or unsupported Perl syntax');
        neg = true;
        sawFlag = false;
      } else if (ch === ')') {
        if (neg && !sawFlag) throw new RegexpSyntaxError('invalid or unsupported Perl syntax');
        return { kind: 'flags', flags: next };
      } else if (ch === ':') {
        if (neg && !sawFlag) throw new RegexpSyntaxError('invalid or unsupported Perl syntax');
        return { kind: 'group', flags: next };
      } else {
        throw new RegexpSyntaxError('invalid or unsupported Perl syntax');
      }
    }
  }

  /** If a {n}, {n,} or {n,m} repetition starts here, its bounds and length. */
  private repeatAhead(): { min: number; max: number; len: number } | undefined {
    let j = this.i;
    if (this.src[j] !== 0x7b) return undefined;
    j++;
    const num = (): number | undefined => {
      const start = j;
      while (j < this.src.length && this.src[j]! >= 0x30 && this.src[j]! <= 0x39) j++;
      if (j === start) return undefined;
      const v = Number(String.fromCodePoint(...this.src.slice(start, j)));
      return v > 1e8 ? 1e8 : v;
    };
    const min = num();
    if (min === undefined) return undefined;
    let max = min;
    if (this.src[j] === 0x2c) {
      j++;
      if (this.src[j] === 0x7d) max = -1;
      else {
        const m = num();
        if (m === undefined) return undefined;
        max = m;
      }
    }
    if (this.src[j] !== 0x7d) return undefined;
    return { min, max, len: j + 1 - this.i };
  }

  private parseRepeat(atom: AstNode, flags: Flags): AstNode {
    let node = atom;
    let repeated = false;
    for (;;) {
      const c = this.peek();
      let min: number;
      let max: number;
      if (c === 0x2a) {
        min = 0;
        max = -1;
        this.i++;
      } else if (c === 0x2b) {
        min = 1;
        max = -1;
        this.i++;
      } else if (c === 0x3f) {
        min = 0;
        max = 1;
        this.i++;
      } else if (c === 0x7b) {
        const r = this.repeatAhead();
        if (!r) return node;
        if (r.min > MAX_REPEAT || r.max > MAX_REPEAT || (r.max >= 0 && r.min > r.max)) {
          throw new RegexpSyntaxError('invalid repeat count');
        }
        min = r.min;
        max = r.max;
        this.i += r.len;
      } else {
        return node;
      }
      if (repeated) throw new RegexpSyntaxError('invalid nested repetition operator');
      repeated = true;
      let greedy = true;
      if (this.eat('?')) greedy = false;
      if (flags.U) greedy = !greedy;
      node = { op: 'rep', min, max, greedy, sub: node };
    }
  }

  private literal(r: number, flags: Flags): AstNode {
    if (flags.i && hasFold(r)) {
      const lr = toLower(r);
      const ur = toUpper(r);
      return {
        op: 'char',
        test: (x) => x === r || (hasFold(x) && (x === lr || x === ur || toLower(x) === lr)),
      };
    }
    return { op: 'char', test: (x) => x === r };
  }

  private parseAtom(flags: Flags): AstNode {
    const c = this.src[this.i++]!;
    switch (c) {
      case 0x2e: // .
        return flags.s ? { op: 'char', test: () => true } : { op: 'char', test: (x) => x !== 0x0a };
      case 0x5e: // ^
        return { op: 'assert', kind: flags.m ? 'bol' : 'bot' };
      case 0x24: // $
        return { op: 'assert', kind: flags.m ? 'eol' : 'eot' };
      case 0x5b: // [
        return this.parseClass(flags);
      case 0x5c: // backslash
        return this.parseEscape(flags);
    }
    return this.literal(c, flags);
  }

  private parseEscape(flags: Flags): AstNode {
    const c = this.src[this.i];
    if (c === undefined) throw new RegexpSyntaxError('trailing backslash at end of expression');
    const ch = String.fromCodePoint(c);
    switch (ch) {
      case 'A':
        this.i++;
        return { op: 'assert', kind: 'bot' };
      case 'z':
        this.i++;
        return { op: 'assert', kind: 'eot' };
      case 'b':
        this.i++;
        return { op: 'assert', kind: 'wordb' };
      case 'B':
        this.i++;
        return { op: 'assert', kind: 'nwordb' };
    }
    const pred = this.classEscape();
    if (pred) return { op: 'char', test: flags.i ? foldPred(pred) : pred };
    return this.literal(this.escapedRune(), flags);
  }

  /** \d \D \s \S \w \W \pX \p{Name} \PX; undefined if the escape is not a class. */
  private classEscape(): Pred | undefined {
    const c = this.src[this.i];
    const ch = c === undefined ? '' : String.fromCodePoint(c);
    const lower = ch.toLowerCase();
    if (lower === 'd' || lower === 's' || lower === 'w') {
      this.i++;
      const p = PERL_CLASSES[lower]!;
      return ch === lower ? p : (r) => !p(r);
    }
    if (ch === 'p' || ch === 'P') {
      this.i++;
      let name: string;
      if (this.eat('{')) {
        name = '';
        while (this.i < this.src.length && this.peek() !== 0x7d)
          name += String.fromCodePoint(this.src[this.i++]!);
        if (!this.eat('}')) throw new RegexpSyntaxError('invalid character class range');
      } else {
        const n = this.src[this.i++];
        if (n === undefined) throw new RegexpSyntaxError('invalid character class range');
        name = String.fromCodePoint(n);
      }
      let negate = ch === 'P';
      if (name.startsWith('^')) {
        negate = !negate;
        name = name.slice(1);
      }
      const p = unicodeClass(name);
      return negate ? (r) => !p(r) : p;
    }
    return undefined;
  }

  /** A single escaped character (after the backslash). */
  private escapedRune(): number {
    const c = this.src[this.i++]!;
    const ch = String.fromCodePoint(c);
    if (c < 0x80 && !isLetter(c) && !isDigit(c)) return c;
    switch (ch) {
      case 'a':
        return 7;
      case 'f':
        return 12;
      case 't':
        return 9;
      case 'n':
        return 10;
      case 'r':
        return 13;
      case 'v':
        return 11;
      case 'x': {
        if (this.eat('{')) {
          let hex = '';
          while (this.i < this.src.length && this.peek() !== 0x7d)
            hex += String.fromCodePoint(this.src[this.i++]!);
          if (!this.eat('}') || !/^[0-9a-fA-F]+$/.test(hex))
            throw new RegexpSyntaxError('invalid escape sequence');
          const v = Number.parseInt(hex, 16);
          if (v > 0x10ffff) throw new RegexpSyntaxError('invalid escape sequence');
          return v;
        }
        const hex = this.rest(2);
        if (!/^[0-9a-fA-F]{2}$/.test(hex)) throw new RegexpSyntaxError('invalid escape sequence');
        this.i += 2;
        return Number.parseInt(hex, 16);
      }
    }
    if (ch >= '0' && ch <= '7') {
      // Octal: \0, \0d, \0dd; \1..\7 need two more digits (a lone \1 would be a backreference).
      let oct = ch;
      while (oct.length < 3 && this.peek() !== undefined && this.peek()! >= 0x30 && this.peek()! <= 0x37) {
        oct += String.fromCodePoint(this.src[this.i++]!);
      }
      if (ch !== '0' && oct.length < 2) throw new RegexpSyntaxError('invalid escape sequence');
      return Number.parseInt(oct, 8);
    }
    throw new RegexpSyntaxError(`invalid escape sequence: \\${ch}`);
  }

  private parseClass(flags: Flags): AstNode {
    const preds: Pred[] = [];
    const ranges: Array<[number, number]> = [];
    let negate = false;
    if (this.eat('^')) negate = true;
    let first = true;
    for (;;) {
      const c = this.peek();
      if (c === undefined) throw new RegexpSyntaxError('missing closing ]');
      if (c === 0x5d && !first) {
        this.i++;
        break;
      }
      first = false;
      if (c === 0x5b && this.src[this.i + 1] === 0x3a) {
        const end = this.src.indexOf(0x5d, this.i + 2);
        const text = end > 0 ? String.fromCodePoint(...this.src.slice(this.i, end + 1)) : '';
        const m = /^\[:(\^?)([a-z]+):\]$/.exec(text);
        if (m) {
          const p = Object.hasOwn(POSIX_CLASSES, m[2]!) ? POSIX_CLASSES[m[2]!] : undefined;
          if (!p) throw new RegexpSyntaxError('invalid character class range');
          preds.push(m[1] ? (r) => !p(r) : p);
          this.i = end + 1;
          continue;
        }
      }
      let lo: number;
      if (c === 0x5c) {
        this.i++;
        const p = this.classEscape();
        if (p) {
          preds.push(p);
          continue;
        }
        lo = this.escapedRune();
      } else {
        lo = c;
        this.i++;
      }
      let hi = lo;
      if (this.peek() === 0x2d && this.src[this.i + 1] !== undefined && this.src[this.i + 1] !== 0x5d) {
        this.i++;
        const h = this.src[this.i]!;
        if (h === 0x5c) {
          this.i++;
          hi = this.escapedRune();
        } else {
          hi = h;
          this.i++;
        }
        if (hi < lo) throw new RegexpSyntaxError('invalid character class range');
      }
      ranges.push([lo, hi]);
    }
    const base: Pred = (r) => {
      for (const [lo, hi] of ranges) if (r >= lo && r <= hi) return true;
      for (const p of preds) if (p(r)) return true;
      return false;
    };
    const test = flags.i ? foldPred(base) : base;
    return { op: 'char', test: negate ? (r) => !test(r) : test };
  }
}

type Inst =
  | { op: 'char'; test: Pred }
  | { op: 'split'; x: number; y: number }
  | { op: 'jmp'; x: number }
  | { op: 'save'; n: number }
  | { op: 'assert'; kind: AssertKind }
  | { op: 'match' };

function compile(node: AstNode): Inst[] {
  const prog: Inst[] = [];
  const emit = (inst: Inst): number => {
    if (prog.length >= MAX_PROGRAM) throw new RegexpSyntaxError('expression too large');
    prog.push(inst);
    return prog.length - 1;
  };
  const gen = (n: AstNode): void => {
    switch (n.op) {
      case 'char':
        emit({ op: 'char', test: n.test });
        return;
      case 'empty':
        return;
      case 'assert':
        emit({ op: 'assert', kind: n.kind });
        return;
      case 'cap':
        emit({ op: 'save', n: 2 * n.index });
        gen(n.sub);
        emit({ op: 'save', n: 2 * n.index + 1 });
        return;
      case 'cat':
        for (const s of n.subs) gen(s);
        return;
      case 'alt': {
        const jumps: number[] = [];
        for (let k = 0; k < n.subs.length; k++) {
          if (k < n.subs.length - 1) {
            const split = emit({ op: 'split', x: 0, y: 0 });
            (prog[split] as { x: number }).x = prog.length;
            gen(n.subs[k]!);
            jumps.push(emit({ op: 'jmp', x: 0 }));
            (prog[split] as { y: number }).y = prog.length;
          } else {
            gen(n.subs[k]!);
          }
        }
        for (const j of jumps) (prog[j] as { x: number }).x = prog.length;
        return;
      }
      case 'rep': {
        for (let k = 0; k < n.min; k++) gen(n.sub);
        if (n.max === -1) {
          const split = emit({ op: 'split', x: 0, y: 0 });
          const body = prog.length;
          gen(n.sub);
          emit({ op: 'jmp', x: split });
          const after = prog.length;
          prog[split] = n.greedy ? { op: 'split', x: body, y: after } : { op: 'split', x: after, y: body };
          return;
        }
        const splits: number[] = [];
        for (let k = n.min; k < n.max; k++) {
          splits.push(emit({ op: 'split', x: 0, y: 0 }));
          gen(n.sub);
        }
        const after = prog.length;
        for (const s of splits) {
          prog[s] = n.greedy ? { op: 'split', x: s + 1, y: after } : { op: 'split', x: after, y: s + 1 };
        }
        return;
      }
    }
  };
  emit({ op: 'save', n: 0 });
  gen(node);
  emit({ op: 'save', n: 1 });
  emit({ op: 'match' });
  return prog;
}

export interface Regexp {
  prog: Inst[];
  ncap: number;
  names: string[];
}

export function compileRegexp(pattern: string): Regexp {
  const p = new RegexpParser(pattern);
  const ast = p.parse();
  return { prog: compile(ast), ncap: p.ncap, names: p.names };
}

interface Thread {
  pc: number;
  caps: number[];
}

/** Runs the program over code points from `start`; returns capture positions (code point indexes) or null. */
function execute(re: Regexp, input: number[], start: number, charge: (n: number) => void): number[] | null {
  const prog = re.prog;
  const n = input.length;
  const visited = new Int32Array(prog.length).fill(-1);
  charge(1 + (prog.length >> 4));
  let gen = 0;
  let clist: Thread[] = [];
  let nlist: Thread[] = [];
  let matched: number[] | null = null;
  const stack: Thread[] = [];

  const check = (kind: AssertKind, pos: number): boolean => {
    switch (kind) {
      case 'bot':
        return pos === 0;
      case 'eot':
        return pos === n;
      case 'bol':
        return pos === 0 || input[pos - 1] === 0x0a;
      case 'eol':
        return pos === n || input[pos] === 0x0a;
      case 'wordb':
        return isWordRune(input[pos - 1]) !== isWordRune(input[pos]);
      case 'nwordb':
        return isWordRune(input[pos - 1]) === isWordRune(input[pos]);
    }
  };

  const addThread = (list: Thread[], pc0: number, caps0: number[], pos: number): void => {
    stack.push({ pc: pc0, caps: caps0 });
    let visits = 0;
    while (stack.length > 0) {
      const { pc, caps } = stack.pop()!;
      visits++;
      if (visited[pc] === gen) continue;
      visited[pc] = gen;
      const inst = prog[pc]!;
      switch (inst.op) {
        case 'jmp':
          stack.push({ pc: inst.x, caps });
          break;
        case 'split':
          stack.push({ pc: inst.y, caps });
          stack.push({ pc: inst.x, caps });
          break;
        case 'save': {
          const c = caps.slice();
          c[inst.n] = pos;
          stack.push({ pc: pc + 1, caps: c });
          break;
        }
        case 'assert':
          if (check(inst.kind, pos)) stack.push({ pc: pc + 1, caps });
          break;
        default:
          list.push({ pc, caps });
      }
    }
    charge(visits);
  };

  const empty = new Array<number>(2 * re.ncap).fill(-1);
  for (let pos = start; pos <= n; pos++) {
    if (matched === null) addThread(clist, 0, empty, pos);
    if (clist.length === 0) {
      if (matched !== null) break;
      gen++;
      continue;
    }
    gen++;
    for (const t of clist) {
      const inst = prog[t.pc]!;
      if (inst.op === 'char') {
        if (pos < n && inst.test(input[pos]!)) addThread(nlist, t.pc + 1, t.caps, pos + 1);
      } else if (inst.op === 'match') {
        matched = t.caps;
        break;
      }
    }
    [clist, nlist] = [nlist, clist];
    nlist.length = 0;
  }
  return matched;
}

class Subject {
  readonly cps: number[];
  private readonly offsets: number[];
  readonly text: string;
  constructor(s: string) {
    this.text = s;
    this.cps = [];
    this.offsets = [];
    let off = 0;
    for (const c of s) {
      this.cps.push(c.codePointAt(0)!);
      this.offsets.push(off);
      off += c.length;
    }
    this.offsets.push(off);
  }
  slice(a: number, b: number): string {
    return this.text.slice(this.offsets[a], this.offsets[b]);
  }
}

function allMatches(re: Regexp, sub: Subject, n: number, charge: (n: number) => void): number[][] {
  const out: number[][] = [];
  const end = sub.cps.length;
  let prevMatchEnd = -1;
  for (let pos = 0; (n < 0 || out.length < n) && pos <= end; ) {
    const m = execute(re, sub.cps, pos, charge);
    if (!m) break;
    let accept = true;
    if (m[1] === pos) {
      if (m[0] === prevMatchEnd) accept = false;
      pos = pos < end ? pos + 1 : end + 1;
    } else {
      pos = m[1]!;
    }
    prevMatchEnd = m[1]!;
    if (accept) out.push(m);
  }
  return out;
}

export function matchString(re: Regexp, s: string, charge: (n: number) => void): boolean {
  return execute(re, new Subject(s).cps, 0, charge) !== null;
}

export function findString(re: Regexp, s: string, charge: (n: number) => void): string {
  const sub = new Subject(s);
  const m = execute(re, sub.cps, 0, charge);
  return m ? sub.slice(m[0]!, m[1]!) : '';
}

/** FindAllString; null when nothing matched (Go returns a nil slice). */
export function findAllString(
  re: Regexp,
  s: string,
  n: number,
  charge: (n: number) => void,
): string[] | null {
  if (n === 0) return null;
  const sub = new Subject(s);
  const ms = allMatches(re, sub, n, charge);
  return ms.length === 0 ? null : ms.map((m) => sub.slice(m[0]!, m[1]!));
}

function expand(re: Regexp, template: string, sub: Subject, m: number[]): string {
  let out = '';
  let t = template;
  for (;;) {
    const k = t.indexOf('$');
    if (k < 0) break;
    out += t.slice(0, k);
    t = t.slice(k + 1);
    if (t.startsWith('$')) {
      out += '$';
      t = t.slice(1);
      continue;
    }
    const ex = /^(?:\{([\p{L}\p{Nd}_]+)\}|([\p{L}\p{Nd}_]+))/u.exec(t);
    if (!ex) {
      out += '$';
      continue;
    }
    const name = ex[1] ?? ex[2]!;
    t = t.slice(ex[0].length);
    let num = -1;
    if (/^[0-9]+$/.test(name) && !(name.length > 1 && name[0] === '0') && name.length <= 8)
      num = Number(name);
    if (num >= 0) {
      if (2 * num + 1 < m.length && m[2 * num]! >= 0) out += sub.slice(m[2 * num]!, m[2 * num + 1]!);
    } else {
      const i = re.names.indexOf(name);
      if (i > 0 && m[2 * i]! >= 0) out += sub.slice(m[2 * i]!, m[2 * i + 1]!);
    }
  }
  return out + t;
}

export function replaceAllString(
  re: Regexp,
  s: string,
  repl: string,
  literal: boolean,
  charge: (n: number) => void,
): string {
  const sub = new Subject(s);
  const end = sub.cps.length;
  let out = '';
  let lastMatchEnd = 0;
  let searchPos = 0;
  while (searchPos <= end) {
    const a = execute(re, sub.cps, searchPos, charge);
    if (!a) break;
    out += sub.slice(lastMatchEnd, a[0]!);
    if (a[1]! > lastMatchEnd || a[0] === 0) out += literal ? repl : expand(re, repl, sub, a);
    lastMatchEnd = a[1]!;
    if (searchPos + 1 > a[1]!) searchPos++;
    else searchPos = a[1]!;
    charge(1);
  }
  return out + sub.slice(lastMatchEnd, end);
}

/** Regexp.Split; null for n == 0 (Go returns nil). */
export function split(re: Regexp, s: string, n: number, charge: (n: number) => void): string[] | null {
  if (n === 0) return null;
  if (re.prog.length > 3 && s.length === 0) return [''];
  const sub = new Subject(s);
  const matches = allMatches(re, sub, n, charge);
  const out: string[] = [];
  let beg = 0;
  let endPos = 0;
  for (const m of matches) {
    if (n > 0 && out.length === n - 1) break;
    endPos = m[0]!;
    if (m[1] !== 0) out.push(sub.slice(beg, endPos));
    beg = m[1]!;
  }
  if (endPos !== sub.cps.length) out.push(sub.slice(beg, sub.cps.length));
  return out;
}
