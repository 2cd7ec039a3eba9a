// One operation, live: a progress bar of resources done out of the expected total, a row per
// resource with its step and duration, the CLI's log, and Cancel. The event stream reconnects
// on its own without losing events (event-stream.ts).
import { useEffect, useMemo, useState } from 'preact/hooks';
import { api, call, type Operation } from '../api.js';
import { followEvents } from '../event-stream.js';
import { duration, operationMs, when, words } from '../format.js';
import { Failure, Loading, useAction, useLoad } from '../load.js';
import { ResourceProgress } from '../resource-progress.js';
import { can } from '../session.js';
import { PlanDecision } from './plan-decision.js';

const SETTLED = ['succeeded', 'failed', 'cancelled', 'interrupted', 'rejected', 'expired'];
const sum = (summary: Record<string, number> | null | undefined) => Object.values(summary ?? {}).reduce((a, b) => a + b, 0);

/** How many resources the run should touch: its plan's, else the environment's last preview's, else its current count. */
async function expectedTotal(op: Operation, signal: AbortSignal): Promise<number | undefined> {
  if (op.plan) return sum(op.plan.summary);
  const recent = await call(api.GET('/v1/environments/{env}/operations', { params: { path: { env: op.environment }, query: { limit: 20 } }, signal }));
  const preview = recent.items.find((other) => other.id !== op.id && other.type === 'preview' && other.summary);
  if (preview) return sum(preview.summary);
  const env = await call(api.GET('/v1/environments/{env}', { params: { path: { env: op.environment } }, signal }));
  return env.resourceCount ?? undefined;
}

export function OperationView({ id }: { id: string }) {
  const [op, setOp] = useState<Operation>();
  const loaded = useLoad(async (signal) => {
    const fresh = await call(api.GET('/v1/operations/{id}', { params: { path: { id } }, signal }));
    setOp(fresh);
    return fresh;
  }, [id], op && SETTLED.includes(op.status) ? undefined : 2000);
  const total = useLoad((signal) => (op ? expectedTotal(op, signal) : Promise.resolve(undefined)), [op?.id, Boolean(op?.plan)]);
  const progress = useMemo(() => new ResourceProgress(), [id]);
  // Durations are timed as events arrive: those of a run that ended before the page opened
  // arrive all at once, and their times would mean nothing.
  const openedAt = useMemo(() => Date.now(), [id]);
  const [, redraw] = useState(0);
  const [stream, setStream] = useState<{ state: string; problem?: string }>({ state: 'connecting' });
  const [log, setLog] = useState('');

  useEffect(() => {
    const controller = new AbortController();
    let frame = 0;
    void followEvents(id, {
      onEvent(event) {
        progress.apply(event);
        frame ||= requestAnimationFrame(() => { frame = 0; redraw((n) => n + 1); });
      },
      onState(state, problem) { setStream({ state, problem }); },
    }, controller.signal);
    return () => { controller.abort(); cancelAnimationFrame(frame); };
  }, [id]);

  const settled = op ? SETTLED.includes(op.status) : false;
  useEffect(() => {
    const controller = new AbortController();
    const read = () => api.GET('/v1/operations/{id}/log', { params: { path: { id } }, parseAs: 'text', signal: controller.signal })
      .then(({ data }) => { if (typeof data === 'string') setLog(data); }, () => undefined);
    void read();
    const timer = settled ? undefined : setInterval(read, 2000);
    return () => { controller.abort(); clearInterval(timer); };
  }, [id, settled, progress.finished]);

  const cancel = useAction();
  if (!op) return loaded.error ? <Failure message={loaded.error} /> : <Loading what="the operation" />;
  const rows = [...progress.rows.values()];
  const replayed = op.finishedAt !== null && Date.parse(op.finishedAt) < openedAt;
  // With no earlier preview to go by, the total is known only at the end: the bar says so.
  const known = total.data !== undefined || progress.finished;
  const max = Math.max(total.data ?? 0, rows.length, 1);
  const done = progress.finished ? max : progress.done;
  const cancellable = ['queued', 'running', 'awaiting_approval'].includes(op.status) && can('operate', op.environment);
  return (
    <section aria-labelledby="op-title" data-status={op.status}>
      <h1 id="op-title">{op.type} of <a href={`#/environments/${op.environment}`}>{op.environment}</a></h1>
      <dl class="facts">
        <dt>Status</dt><dd><span class={`status ${op.status}`} data-testid="op-status">{words(op.status)}</span></dd>
        <dt>Requested by</dt><dd>{op.requestedBy}</dd>
        <dt>Queued</dt><dd>{when(op.queuedAt)}</dd>
        <dt>Took</dt><dd>{duration(operationMs(op))}</dd>
        {op.message && <><dt>Message</dt><dd>{op.message}</dd></>}
        <dt>Events</dt><dd data-testid="event-count" data-last-event={progress.lastSequence}>{progress.events} ({stream.state})</dd>
      </dl>
      {op.error && <p class="failure" role="alert">{op.error}</p>}
      <Failure message={loaded.error ?? stream.problem} />
      <label for="progress">Resources done: {done} of {known ? max : 'a total not known yet (no earlier preview)'}</label>
      {known
        ? <progress id="progress" max={max} value={done} data-done={done} data-max={max} />
        : <progress id="progress" data-done={done} data-max="" />}
      {cancellable && (
        <div class="actions">
          <button type="button" class="danger" disabled={cancel.busy || op.cancelRequested}
            onClick={() => cancel.run(async () => setOp(await call(api.POST('/v1/operations/{id}/cancel', { params: { path: { id } } }))))}>
            {op.cancelRequested ? 'Cancelling…' : 'Cancel'}
          </button>
        </div>
      )}
      <Failure message={cancel.error} />
      <PlanDecision operation={op} onDecided={setOp} />
      <h2>Resources</h2>
      <table>
        <thead><tr><th scope="col">Resource</th><th scope="col">Type</th><th scope="col">Step</th><th scope="col">Took</th></tr></thead>
        <tbody>{rows.map((row) => (
          <tr key={row.urn} data-resource={row.name}>
            <td><code>{row.name}</code></td>
            <td><code>{row.type}</code></td>
            <td><span class={`step ${row.step}`}>{row.step}</span>{row.failed ? ' (failed)' : ''}</td>
            <td>{replayed ? '—' : row.doneAt !== undefined ? duration(row.doneAt - row.startedAt) : progress.finished ? '—' : 'running'}</td>
          </tr>
        ))}</tbody>
      </table>
      <h2>Log</h2>
      <pre class="log" tabIndex={0} aria-label="CLI log">{log || 'No output yet.'}</pre>
    </section>
  );
}
