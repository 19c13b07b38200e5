// Traces (trace.ts) as a tree of lines, for people: colours on a terminal, plain text otherwise.
// Pure functions: the same trace and clock always give the same text.
import type {
  ApparatusView,
  AppliedView,
  ConditionView,
  EventsView,
  ObjectView,
  PlugTrace,
  Ref,
  SideRecordView,
  SocketTrace,
} from './trace.ts';

export type Tone = 'ok' | 'bad' | 'warn' | 'dim' | 'bold';

export interface TreeNode {
  text: string;
  tone?: Tone;
  children?: TreeNode[];
}

const COLOURS: Record<Tone, [string, string]> = {
  ok: ['\u001b[32m', '\u001b[39m'],
  bad: ['\u001b[31m', '\u001b[39m'],
  warn: ['\u001b[33m', '\u001b[39m'],
  dim: ['\u001b[2m', '\u001b[22m'],
  bold: ['\u001b[1m', '\u001b[22m'],
};

/** The tree as text: `├── ` / `└── ` branches, one line per node (multi-line texts are indented). */
export function renderTree(root: TreeNode, colour: boolean): string {
  const paint = (n: TreeNode, text: string) =>
    colour && n.tone ? `${COLOURS[n.tone][0]}${text}${COLOURS[n.tone][1]}` : text;
  const out: string[] = [];
  const walk = (n: TreeNode, prefix: string, branch: string, rest: string) => {
    const [first = '', ...more] = n.text.split('\n');
    out.push(`${prefix}${branch}${paint(n, first)}`);
    for (const line of more)
      out.push(`${prefix}${rest}${n.children?.length ? '│   ' : '    '}${paint(n, line)}`);
    const kids = n.children ?? [];
    kids.forEach((k, i) => {
      const last = i === kids.length - 1;
      walk(k, prefix + rest, last ? '└── ' : '├── ', last ? '    ' : '│   ');
    });
  };
  walk(root, '', '', '');
  return `${out.join('\n')}\n`;
}

/** `45s`, `12m`, `5h`, `3d`: how long before `now` (kubectl's style). */
export function age(time: string | undefined, now: Date): string {
  if (!time) return '?';
  const t = Date.parse(time);
  if (!Number.isFinite(t)) return '?';
  const s = Math.max(0, Math.round((now.getTime() - t) / 1000));
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 120) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h`;
  return `${Math.floor(h / 24)}d`;
}

function refText(ref: Ref): string {
  return `${ref.kind} ${ref.namespace ? `${ref.namespace}/` : ''}${ref.name}`;
}

function conditionNode(c: ConditionView, now: Date): TreeNode {
  const tone: Tone = c.status === 'True' ? 'ok' : c.status === 'False' ? 'bad' : 'warn';
  const since = c.lastTransitionTime ? ` for ${age(c.lastTransitionTime, now)}` : '';
  return {
    text: `${c.type}=${c.status} ${c.reason ?? ''}${since}${c.message ? `: ${c.message}` : ''}`,
    tone,
  };
}

function eventsNodes(w: EventsView | undefined, now: Date): TreeNode[] {
  if (!w) return [];
  if (w.access !== 'found')
    return [{ text: `Warning events: ${w.access === 'forbidden' ? 'forbidden' : w.message}`, tone: 'dim' }];
  return w.items.map((e) => ({
    text: `Warning ${e.reason}${e.count > 1 ? ` ×${e.count}` : ''} ${age(e.lastSeen, now)} ago: ${e.message}`,
    tone: 'warn' as Tone,
  }));
}

function summaryOfConditions(v: ObjectView): string {
  return (v.conditions ?? [])
    .map((c) => `${c.type}=${c.status}${c.reason ? ` (${c.reason})` : ''}`)
    .join('  ');
}

/** An object's node: its state on the first line, then conditions, details and Warning Events. */
function objectNode(v: ObjectView, now: Date, prefix = '', extra: TreeNode[] = []): TreeNode {
  const name = `${prefix}${refText(v.ref)}`;
  if (v.access !== 'found') {
    const what =
      v.access === 'missing'
        ? 'missing'
        : v.access === 'forbidden'
          ? 'forbidden'
          : `error: ${v.message ?? ''}`;
    return {
      text: `${name}: ${what}`,
      tone: v.access === 'forbidden' ? 'warn' : 'bad',
      children: [
        ...(v.access === 'forbidden' && v.message ? [{ text: v.message, tone: 'dim' as Tone }] : []),
        ...extra,
      ],
    };
  }
  const parts = [
    v.state,
    summaryOfConditions(v),
    v.created ? `age ${age(v.created, now)}` : undefined,
  ].filter(Boolean);
  if (v.deleting) parts.push(`deleting for ${age(v.deleting, now)}`);
  const tone: Tone | undefined =
    v.healthy === false || v.conditions?.some((c) => c.type === 'Ready' && c.status === 'False')
      ? 'bad'
      : v.healthy === true || v.conditions?.every((c) => c.status === 'True')
        ? 'ok'
        : undefined;
  return {
    text: `${name}  ${parts.join('  ')}`,
    ...(tone ? { tone } : {}),
    children: [
      ...(v.conditions ?? []).map((c) => conditionNode(c, now)),
      ...(v.details ?? []).map((d) => ({ text: d, tone: (v.healthy === false ? 'bad' : 'dim') as Tone })),
      ...extra,
      ...eventsNodes(v.warnings, now),
    ],
  };
}

function sideText(who: string, r: SideRecordView | undefined, now: Date): TreeNode {
  if (!r) return { text: `${who}: no event performed yet`, tone: 'dim' };
  const when = r.at ? `${age(r.at, now)} ago (${r.at})` : 'time not recorded';
  return { text: `${who}: ${r.event}${r.skipped ? ' (skipped: its side could not run)' : ''}, ${when}` };
}

function appliedNode(a: AppliedView, now: Date): TreeNode {
  return objectNode(
    a,
    now,
    `${a.side} side: `,
    a.retain ? [{ text: 'kept when the coupling ends', tone: 'dim' }] : [],
  );
}

function apparatusNode(a: ApparatusView, now: Date): TreeNode {
  const title = `${a.side} apparatus`;
  if (!a.pod) {
    return a.endpoint
      ? { text: `${title}: endpoint ${a.endpoint} (called as it is; not traced further)` }
      : { text: `${title}: ${a.note ?? 'none'}`, tone: 'bad' };
  }
  const children: TreeNode[] = [objectNode(a.pod, now)];
  if (a.service) children.push(objectNode(a.service, now));
  if (a.lastCall) children.push({ text: `last call ${age(a.lastCall, now)} ago (${a.lastCall})` });
  if (a.note) children.push({ text: a.note, tone: 'dim' });
  return { text: `${title}: managed Pod${a.endpoint ? `, path ${a.endpoint}` : ''}`, children };
}

export function plugTraceTree(t: PlugTrace, now = new Date(t.at)): TreeNode {
  const p = t.plug;
  if (p.access !== 'found') return objectNode(p, now);
  const plugExtra: TreeNode[] = [];
  if (p.failure) {
    const f = p.failure;
    plugExtra.push({
      text: `failing step (${String(f.side ?? '?')} side): ${String(f.reason ?? '')}: ${String(f.message ?? '')}`,
      tone: 'bad',
    });
  }
  const root = objectNode(p, now, '', plugExtra);
  const children = root.children ?? [];
  // The socket: what the plug points at, what it is coupled to, the rules that refused it.
  if (!p.socketRef) children.push({ text: 'Socket: spec.socket.name is not set', tone: 'bad' });
  else if (t.socket) {
    const extra: TreeNode[] = [];
    const cs = p.coupledSocket;
    if (cs?.uid && t.socket.uid && cs.uid !== t.socket.uid)
      extra.push({
        text: `the plug is coupled to an earlier socket of this name (uid ${cs.uid})`,
        tone: 'warn',
      });
    for (const r of t.socket.rules ?? [])
      extra.push({ text: r, tone: r.startsWith('refused') ? 'bad' : undefined } as TreeNode);
    children.push(objectNode(t.socket, now, '', extra));
  }
  const lc = t.lifecycle;
  const lifecycle: TreeNode[] = [];
  if (lc.created) lifecycle.push({ text: `created: ${age(lc.created, now)} ago (${lc.created})` });
  if (lc.coupling) {
    lifecycle.push({
      text: `coupling with ${lc.coupling.socket} (socket uid ${lc.coupling.socketUid})`,
      children: [
        sideText('plug side', lc.coupling.plugSide, now),
        sideText('socket side', lc.coupling.socketSide, now),
      ],
    });
  } else lifecycle.push({ text: 'no coupling recorded', tone: 'dim' });
  if (lc.deleted) lifecycle.push({ text: `deleted: ${age(lc.deleted, now)} ago (${lc.deleted})` });
  if (p.results) {
    const keys = [
      p.results.plug ? `plug: ${p.results.plug.join(', ')}` : '',
      p.results.socket ? `socket: ${p.results.socket.join(', ')}` : '',
    ]
      .filter(Boolean)
      .join('; ');
    lifecycle.push({ text: `results (keys): ${keys}` });
  }
  children.push({ text: 'Lifecycle', tone: 'bold', children: lifecycle });
  children.push({
    text: `Applied for the coupling: ${t.applied.length === 0 ? 'nothing recorded' : t.applied.length}`,
    tone: 'bold',
    children: t.applied.map((a) => appliedNode(a, now)),
  });
  children.push({
    text: `Apparatus: ${t.apparatus.length === 0 ? 'none' : t.apparatus.length}`,
    tone: 'bold',
    children: t.apparatus.map((a) => apparatusNode(a, now)),
  });
  return { ...root, children };
}

export function socketTraceTree(t: SocketTrace, now = new Date(t.at)): TreeNode {
  const s = t.socket;
  if (s.access !== 'found') return objectNode(s, now);
  const root = objectNode(s, now, '', [
    ...(s.rules ?? []).map((r) => ({ text: r, tone: 'dim' as Tone })),
    ...(s.lifecycle?.created
      ? [{ text: `created: ${age(s.lifecycle.created, now)} ago (${s.lifecycle.created})` }]
      : []),
  ]);
  const children = root.children ?? [];
  const count = t.plugs.groups.reduce((n, g) => n + g.plugs.length, 0);
  const plugNodes: TreeNode[] = [];
  if (t.plugs.source === 'status') {
    plugNodes.push({
      text: `listing Plugs in all namespaces: ${t.plugs.access === 'forbidden' ? 'forbidden' : t.plugs.message}; shown: the socket's namespace, and the coupled plugs its status names`,
      tone: 'warn',
    });
    if (s.waitingPlugs)
      plugNodes.push({
        text: `waiting (from the socket's status): ${Object.entries(s.waitingPlugs)
          .map(([r, n]) => `${r} ${n}`)
          .join(', ')}`,
      });
  }
  for (const g of t.plugs.groups) {
    plugNodes.push({
      text: `${g.coupled ? 'coupled' : 'waiting'}, ${g.reason}: ${g.plugs.length}`,
      tone: g.coupled && g.reason === 'CouplingSucceeded' ? 'ok' : g.coupled ? 'warn' : 'bad',
      children: g.plugs.map((p) => ({
        text: `Plug ${p.namespace}/${p.name}${p.since ? ` for ${age(p.since, now)}` : ''}${p.conditionMessage ? `: ${p.conditionMessage}` : ''}`,
        ...(p.access === 'forbidden' ? { tone: 'dim' as Tone } : {}),
        children: [
          ...(p.plugSide || p.socketSide
            ? [sideText('plug side', p.plugSide, now), sideText('socket side', p.socketSide, now)]
            : []),
        ],
      })),
    });
  }
  const coupledCount = s.coupledPlugCount !== undefined ? `, ${s.coupledPlugCount} coupled (status)` : '';
  children.push({ text: `Plugs: ${count}${coupledCount}`, tone: 'bold', children: plugNodes });
  children.push({
    text: `Apparatus: ${t.apparatus.length === 0 ? 'none' : t.apparatus.length}`,
    tone: 'bold',
    children: t.apparatus.map((a) => apparatusNode(a, now)),
  });
  return { ...root, children };
}
