// The approvals inbox: every saved plan waiting for a decision, with its changes.
import { api, call } from '../api.js';
import { Failure, Loading, useLoad } from '../load.js';
import { PlanDecision } from './plan-decision.js';

export function Approvals() {
  const { data, error, reload } = useLoad(async (signal) => {
    const envs = await call(api.GET('/v1/environments', { signal }));
    const waiting = envs.items.filter((env) => env.awaitingApproval);
    return Promise.all(waiting.map((env) => call(api.GET('/v1/operations/{id}', { params: { path: { id: env.awaitingApproval! } }, signal }))));
  }, [], 5000);
  return (
    <section aria-labelledby="approvals-title">
      <h1 id="approvals-title">Approvals</h1>
      <Failure message={error} />
      {!data ? <Loading what="plans awaiting approval" /> : data.length === 0 ? <p>Nothing is waiting for approval.</p> : data.map((op) => (
        <article key={op.id} class="card" data-approval={op.environment}>
          <h2>{op.type} of {op.environment}, requested by {op.requestedBy}</h2>
          <p><a href={`#/operations/${op.id}`}>Open the operation</a>{op.message ? ` — ${op.message}` : ''}</p>
          <PlanDecision operation={op} onDecided={reload} />
        </article>
      ))}
    </section>
  );
}
