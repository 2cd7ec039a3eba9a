// An environment's configuration versions, and the difference between any two of them.
import { useState } from 'preact/hooks';
import { api, call } from '../api.js';
import { when } from '../format.js';
import { Failure, Loading, useLoad } from '../load.js';

const show = (value: unknown) => (value === undefined ? '' : typeof value === 'string' ? value : JSON.stringify(value));

export function ConfigVersions({ env }: { env: string }) {
  const versions = useLoad((signal) => call(api.GET('/v1/environments/{env}/config/versions', { params: { path: { env }, query: { limit: 50 } }, signal })), [env]);
  const items = versions.data?.items ?? [];
  const [pair, setPair] = useState<{ from?: number; to?: number }>({});
  const to = pair.to ?? items[0]?.version;
  const from = pair.from ?? items[1]?.version ?? to;
  const diff = useLoad((signal) => (from && to
    ? call(api.GET('/v1/environments/{env}/config/diff', { params: { path: { env }, query: { from, to } }, signal }))
    : Promise.resolve(undefined)), [env, from, to]);
  const byVersion = new Map(items.map((v) => [v.version, v]));
  const select = (id: string, label: string, value: number | undefined, set: (n: number) => void) => (
    <>
      <label for={id}>{label}</label>
      <select id={id} value={value} onChange={(e) => set(Number(e.currentTarget.value))}>
        {items.map((v) => <option key={v.version} value={v.version}>version {v.version}</option>)}
      </select>
    </>
  );
  const d = diff.data;
  return (
    <section aria-labelledby="config-title">
      <h1 id="config-title">Configuration of <a href={`#/environments/${env}`}>{env}</a></h1>
      <Failure message={versions.error ?? diff.error} />
      {!versions.data ? <Loading what="configuration versions" /> : (
        <>
          <table>
            <thead><tr><th scope="col">Version</th><th scope="col">Author</th><th scope="col">Message</th><th scope="col">When</th></tr></thead>
            <tbody>{items.map((v) => <tr key={v.version}><th scope="row">{v.version}</th><td>{v.author}</td><td>{v.message ?? ''}</td><td>{when(v.createdAt)}</td></tr>)}</tbody>
          </table>
          <h2>Difference</h2>
          <div class="pair">
            {select('diff-from', 'From', from, (n) => setPair({ from: n, to }))}
            {select('diff-to', 'To', to, (n) => setPair({ from, to: n }))}
          </div>
          {d && (d.added.length + d.changed.length + d.removed.length === 0 ? <p>No difference.</p> : (
            <table class="diff">
              <thead><tr><th scope="col">Key</th><th scope="col">Change</th><th scope="col">Version {d.from}</th><th scope="col">Version {d.to}</th></tr></thead>
              <tbody>
                {(['added', 'changed', 'removed'] as const).flatMap((kind) => d[kind].map((key) => (
                  <tr key={`${kind}${key}`} class={kind}>
                    <td><code>{key}</code></td><td>{kind}</td>
                    <td><code>{show(byVersion.get(d.from)?.values[key])}</code></td>
                    <td><code>{show(byVersion.get(d.to)?.values[key])}</code></td>
                  </tr>
                )))}
              </tbody>
            </table>
          ))}
        </>
      )}
    </section>
  );
}
