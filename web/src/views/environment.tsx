// One environment: its actions (preview, update, refresh: for those allowed to operate), its
// recent operations, and links to its releases and configuration versions.
import { api, call } from '../api.js';
import { when, words } from '../format.js';
import { Failure, Loading, useAction, useLoad } from '../load.js';
import { can } from '../session.js';

const ACTIONS = [['preview', 'Preview'], ['update', 'Update'], ['refresh', 'Refresh']] as const;

export function EnvironmentView({ env }: { env: string }) {
  const environment = useLoad((signal) => call(api.GET('/v1/environments/{env}', { params: { path: { env } }, signal })), [env], 5000);
  const operations = useLoad((signal) => call(api.GET('/v1/environments/{env}/operations', { params: { path: { env }, query: { limit: 20 } }, signal })), [env], 5000);
  const backups = useLoad((signal) => call(api.GET('/v1/environments/{env}/backups', { params: { path: { env }, query: { limit: 5 } }, signal })), [env]);
  const action = useAction();
  const queue = async (type: (typeof ACTIONS)[number][0]) => {
    const op = await action.run(() => call(api.POST('/v1/environments/{env}/operations', { params: { path: { env } }, body: { type, message: `${type} from the dashboard` } })));
    if (op) location.hash = `#/operations/${op.id}`;
  };
  const e = environment.data;
  return (
    <section aria-labelledby="env-title">
      <h1 id="env-title">{env}</h1>
      <p><a href={`#/environments/${env}/releases`}>Releases</a> · <a href={`#/environments/${env}/config`}>Configuration versions</a></p>
      <Failure message={environment.error} />
      {e && <dl class="facts">
        <dt>Status</dt><dd><span class={`status ${e.status}`}>{words(e.status)}</span></dd>
        <dt>Resources</dt><dd>{e.resourceCount ?? '—'}</dd>
        <dt>Queue</dt><dd>{e.queueLength}</dd>
        <dt>Current release</dt><dd>{e.currentRelease ? `#${e.currentRelease.number}` : 'none yet'}</dd>
        {e.awaitingApproval && <><dt>Awaiting approval</dt><dd><a href={`#/operations/${e.awaitingApproval}`}>the saved plan</a></dd></>}
      </dl>}
      {can('operate', env) && (
        <div class="actions" role="group" aria-label="Run on this environment">
          {ACTIONS.map(([type, label]) => <button key={type} type="button" disabled={action.busy} onClick={() => queue(type)}>{label}</button>)}
        </div>
      )}
      <Failure message={action.error} />
      <h2>Recent operations</h2>
      <Failure message={operations.error} />
      {!operations.data ? <Loading what="operations" /> : (
        <table>
          <thead><tr><th scope="col">Operation</th><th scope="col">Status</th><th scope="col">Requested by</th><th scope="col">Queued</th></tr></thead>
          <tbody>{operations.data.items.map((op) => (
            <tr key={op.id}>
              <td><a href={`#/operations/${op.id}`}>{op.type}{op.message ? `: ${op.message}` : ''}</a></td>
              <td><span class={`status ${op.status}`}>{words(op.status)}</span></td>
              <td>{op.requestedBy}</td>
              <td>{when(op.queuedAt)}</td>
            </tr>
          ))}</tbody>
        </table>
      )}
      <h2>Latest state backups</h2>
      <Failure message={backups.error} />
      {backups.data && (backups.data.items.length === 0 ? <p class="muted">No backup yet: one is taken after every operation that changes the stack.</p> : (
        <table>
          <thead><tr><th scope="col">Taken</th><th scope="col">Why</th><th scope="col">Resources</th><th scope="col">Size</th></tr></thead>
          <tbody>{backups.data.items.map((backup) => (
            <tr key={backup.id} data-backup={backup.id}>
              <td>{when(backup.createdAt)}</td>
              <td>{words(backup.reason)}{backup.operationId ? <> (<a href={`#/operations/${backup.operationId}`}>operation</a>)</> : null}</td>
              <td>{backup.resourceCount}</td>
              <td>{(backup.size / 1024).toFixed(1)} KB</td>
            </tr>
          ))}</tbody>
        </table>
      ))}
    </section>
  );
}
