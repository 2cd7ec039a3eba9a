// A saved plan waiting for approval: what it changes, who decided so far, and (for those who
// may approve) Approve and Reject with a comment.
import { useState } from 'preact/hooks';
import { api, call, type Operation } from '../api.js';
import { when } from '../format.js';
import { Failure, useAction } from '../load.js';
import { can, session } from '../session.js';

export function PlanChanges({ plan }: { plan: NonNullable<Operation['plan']> }) {
  return (
    <>
      <p>
        {Object.entries(plan.summary).map(([step, count]) => `${count} to ${step}`).join(', ') || 'No changes'}; configuration version {plan.configVersion};
        planned {when(plan.plannedAt)}, expires {when(plan.expiresAt)}; {plan.approvals.filter((a) => a.decision === 'approve').length} of {plan.approvalsNeeded} approvals.
      </p>
      {plan.changes.length > 0 && (
        <table>
          <thead><tr><th scope="col">Resource</th><th scope="col">Type</th><th scope="col">Change</th></tr></thead>
          <tbody>{plan.changes.map((change) => (
            <tr key={change.urn}><td><code>{change.urn.split('::').pop()}</code></td><td><code>{change.type}</code></td><td><span class={`step ${change.op}`}>{change.op}</span></td></tr>
          ))}</tbody>
        </table>
      )}
      {plan.approvals.length > 0 && (
        <ul>{plan.approvals.map((a) => <li key={`${a.principal}${a.at}`}>{a.principal} {a.decision === 'approve' ? 'approved' : 'rejected'} {when(a.at)}{a.comment ? `: “${a.comment}”` : ''}</li>)}</ul>
      )}
    </>
  );
}

export function PlanDecision({ operation, onDecided }: { operation: Operation; onDecided: (op: Operation) => void }) {
  const [comment, setComment] = useState('');
  const action = useAction();
  if (operation.status !== 'awaiting_approval' || !operation.plan) return null;
  const mine = operation.requestedBy === session.value?.principal;
  const decide = async (decision: 'approve' | 'reject') => {
    const path = decision === 'approve' ? '/v1/operations/{id}/approve' : '/v1/operations/{id}/reject';
    const op = await action.run(() => call(api.POST(path, { params: { path: { id: operation.id } }, body: comment ? { comment } : {} })));
    if (op) onDecided(op);
  };
  const field = `comment-${operation.id}`;
  return (
    <div class="decision">
      <PlanChanges plan={operation.plan} />
      {can('approve', operation.environment) && !mine && (
        <form onSubmit={(e) => e.preventDefault()}>
          <label for={field}>Comment</label>
          <input id={field} value={comment} maxLength={500} onInput={(e) => setComment(e.currentTarget.value)} />
          <div class="actions">
            <button type="button" disabled={action.busy} onClick={() => decide('approve')}>Approve</button>
            <button type="button" class="danger" disabled={action.busy} onClick={() => decide('reject')}>Reject</button>
          </div>
        </form>
      )}
      {mine && <p class="muted">You requested this change: someone else approves it.</p>}
      <Failure message={action.error} />
    </div>
  );
}
