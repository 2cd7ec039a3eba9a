// The pipeline, development → testing → staging → production: each stage's current release,
// what promoting the previous stage's release into it would change, and Promote.
import { api, call } from '../api.js';
import { Failure, Loading, useAction, useLoad } from '../load.js';
import { can } from '../session.js';
import { Images } from './overview.js';

const show = (value: unknown) => (value === undefined || value === null ? '(unset)' : typeof value === 'string' ? value : JSON.stringify(value));

export function Pipeline() {
  const { data, error, reload } = useLoad((signal) => call(api.GET('/v1/pipeline', { signal })), []);
  const action = useAction();
  const promote = async (env: string, from: string) => {
    const op = await action.run(() => call(api.POST('/v1/environments/{env}/promotions', { params: { path: { env } }, body: { from, message: `promoted from ${from} in the dashboard` } })));
    if (op) location.hash = `#/operations/${op.id}`;
    else reload();
  };
  return (
    <section aria-labelledby="pipeline-title">
      <h1 id="pipeline-title">Pipeline</h1>
      <Failure message={error ?? action.error} />
      {!data ? <Loading what="the pipeline" /> : (
        <ol class="pipeline">
          {data.stages.map((stage) => (
            <li key={stage.environment} class="stage" data-stage={stage.environment}>
              <h2><a href={`#/environments/${stage.environment}`}>{stage.environment}</a></h2>
              {stage.currentRelease
                ? <p>Release #{stage.currentRelease.number}</p>
                : <p class="muted">No release yet</p>}
              {stage.currentRelease && <Images images={stage.currentRelease.images} />}
              {stage.promotion && (
                <div class="promotion">
                  <h3>Promoting from {stage.promotion.from} would change</h3>
                  {Object.keys(stage.promotion.changes).length === 0 ? <p class="muted">nothing</p> : (
                    <ul class="plain">{Object.entries(stage.promotion.changes).map(([key, [now, after]]) => (
                      <li key={key}><code>{key}</code>: <del>{show(now)}</del> → <ins>{show(after)}</ins></li>
                    ))}</ul>
                  )}
                  {can('operate', stage.environment) && (
                    <button type="button" disabled={action.busy} onClick={() => promote(stage.environment, stage.promotion!.from)}>
                      Promote to {stage.environment}
                    </button>
                  )}
                </div>
              )}
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}
