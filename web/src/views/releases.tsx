// An environment's releases, newest first, with Rollback to any earlier one.
import { api, call } from '../api.js';
import { when } from '../format.js';
import { Failure, Loading, useAction, useLoad } from '../load.js';
import { can } from '../session.js';
import { Images } from './overview.js';

export function Releases({ env }: { env: string }) {
  const { data, error } = useLoad((signal) => call(api.GET('/v1/environments/{env}/releases', { params: { path: { env }, query: { limit: 50 } }, signal })), [env]);
  const action = useAction();
  const rollback = async (release: string, number: number) => {
    const op = await action.run(() => call(api.POST('/v1/environments/{env}/rollbacks', { params: { path: { env } }, body: { release, message: `rollback to #${number} from the dashboard` } })));
    if (op) location.hash = `#/operations/${op.id}`;
  };
  return (
    <section aria-labelledby="releases-title">
      <h1 id="releases-title">Releases of <a href={`#/environments/${env}`}>{env}</a></h1>
      <Failure message={error ?? action.error} />
      {!data ? <Loading what="releases" /> : data.items.length === 0 ? <p>No release yet: the first succeeded update makes one.</p> : (
        <table>
          <thead><tr><th scope="col">Release</th><th scope="col">Status</th><th scope="col">Images</th><th scope="col">Configuration</th><th scope="col">By</th><th scope="col">When</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
          <tbody>{data.items.map((release) => (
            <tr key={release.id} data-release={release.number}>
              <th scope="row">#{release.number}</th>
              <td>{release.status.replace('_', ' ')}</td>
              <td><Images images={release.images} /></td>
              <td>version {release.configVersion}</td>
              <td>{release.requestedBy}{release.approvedBy.length ? `, approved by ${release.approvedBy.join(', ')}` : ''}</td>
              <td>{when(release.createdAt)}</td>
              <td>{release.status !== 'current' && can('operate', env) && (
                <button type="button" disabled={action.busy} onClick={() => rollback(release.id, release.number)}>Roll back to #{release.number}</button>
              )}</td>
            </tr>
          ))}</tbody>
        </table>
      )}
    </section>
  );
}
