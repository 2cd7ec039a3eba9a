// The audit trail (admins only: the service refuses anyone else, and the page says so).
import { useState } from 'preact/hooks';
import { api, call } from '../api.js';
import { when } from '../format.js';
import { Failure, Loading, useLoad } from '../load.js';

export function AuditTrail() {
  const [principal, setPrincipal] = useState('');
  const [filter, setFilter] = useState('');
  const { data, error } = useLoad((signal) => call(api.GET('/v1/audit', { params: { query: { limit: 100, ...(filter ? { principal: filter } : {}) } }, signal })), [filter]);
  return (
    <section aria-labelledby="audit-title">
      <h1 id="audit-title">Audit trail</h1>
      <form class="pair" onSubmit={(e) => { e.preventDefault(); setFilter(principal.trim()); }}>
        <label for="audit-principal">Principal</label>
        <input id="audit-principal" value={principal} onInput={(e) => setPrincipal(e.currentTarget.value)} />
        <button type="submit">Filter</button>
      </form>
      <Failure message={error} />
      {!data ? (!error && <Loading what="the audit trail" />) : (
        <table>
          <thead><tr><th scope="col">When</th><th scope="col">Principal</th><th scope="col">Action</th><th scope="col">Target</th><th scope="col">Result</th></tr></thead>
          <tbody>{data.items.map((record) => (
            <tr key={record.seq}>
              <td>{when(record.at)}</td><td>{record.principal}</td><td>{record.action}</td><td><code>{record.target}</code></td>
              <td>{record.result}{record.reason ? ` (${record.reason})` : ''}{record.repeats > 1 ? ` ×${record.repeats}` : ''}</td>
            </tr>
          ))}</tbody>
        </table>
      )}
    </section>
  );
}
