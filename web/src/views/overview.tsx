// Every environment at a glance: status, current release and its images, last operation,
// queue, drift, and when changes may next start (its maintenance windows).
import { api, call, type Environment } from '../api.js';
import { when, words } from '../format.js';
import { Failure, Loading, useLoad } from '../load.js';

export function Images({ images }: { images: Record<string, string> }) {
  const entries = Object.entries(images);
  if (!entries.length) return <span class="muted">no images</span>;
  return <ul class="plain">{entries.map(([path, image]) => <li key={path}><code>{path}</code>: <code>{image}</code></li>)}</ul>;
}

function Drift({ drift }: { drift: Environment['drift'] }) {
  if (!drift) return <span class="muted">not checked</span>;
  return <span class={`status ${drift.status}`}>{words(drift.status)}{drift.status === 'drifted' ? ` (${drift.resources.length})` : ''}</span>;
}

/** Whether changes may start now, else when the next window opens (in the window's own time zone). */
function NextWindow({ env }: { env: string }) {
  const { data } = useLoad((signal) => call(api.GET('/v1/environments/{env}/windows', { params: { path: { env } }, signal })), [env]);
  if (!data) return <span class="muted">…</span>;
  if (!data.windows.length && !data.freezes.length) return <span class="muted">always open</span>;
  if (data.open) return <span class="status open">open now</span>;
  const next = data.nextOpenings[0];
  return next ? <span>{next.local.opensAt.replace('T', ' ').slice(0, 16)} <small>{next.timezone}</small></span> : <span class="muted">no opening ahead</span>;
}

export function Overview() {
  const { data, error } = useLoad((signal) => call(api.GET('/v1/environments', { signal })), [], 5000);
  return (
    <section aria-labelledby="overview-title">
      <h1 id="overview-title">Environments</h1>
      <Failure message={error} />
      {!data ? <Loading what="environments" /> : (
        <table>
          <caption class="visually-hidden">Every environment you may read</caption>
          <thead><tr><th scope="col">Environment</th><th scope="col">Status</th><th scope="col">Current release</th><th scope="col">Last operation</th><th scope="col">Queue</th><th scope="col">Drift</th><th scope="col">Next window</th></tr></thead>
          <tbody>
            {data.items.map((env) => (
              <tr key={env.name} data-environment={env.name}>
                <th scope="row"><a href={`#/environments/${env.name}`}>{env.name}</a></th>
                <td><span class={`status ${env.status}`}>{words(env.status)}</span></td>
                <td>{env.currentRelease ? <>#{env.currentRelease.number} <Images images={env.currentRelease.images} /></> : <span class="muted">none yet</span>}</td>
                <td>{env.lastOperation
                  ? <><a href={`#/operations/${env.lastOperation.id}`}>{env.lastOperation.type} {words(env.lastOperation.status)}</a><br /><small>{when(env.lastOperation.queuedAt)}</small></>
                  : <span class="muted">none</span>}</td>
                <td>{env.queueLength}</td>
                <td><Drift drift={env.drift} /></td>
                <td><NextWindow env={env.name} /></td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
