// The dashboard's shell: who is signed in, the navigation, and which view the address names
// (#/..., so the service serves one page and every view has a link).
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, call, setCsrfToken, whenSignedOut } from './api.js';
import { isAdmin, session } from './session.js';
import { useSignal } from './signal.js';
import { SignIn } from './views/sign-in.js';
import { Overview } from './views/overview.js';
import { EnvironmentView } from './views/environment.js';
import { OperationView } from './views/operation.js';
import { Pipeline } from './views/pipeline.js';
import { Approvals } from './views/approvals.js';
import { Releases } from './views/releases.js';
import { ConfigVersions } from './views/config-versions.js';
import { AuditTrail } from './views/audit.js';
import { Durations } from './views/durations.js';
import './app.css';

function useRoute(): string[] {
  const read = () => location.hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent);
  const [route, setRoute] = useState(read);
  useEffect(() => {
    const changed = () => setRoute(read());
    addEventListener('hashchange', changed);
    return () => removeEventListener('hashchange', changed);
  }, []);
  return route;
}

function View({ route }: { route: string[] }) {
  const [first, second, third] = route;
  if (!first) return <Overview />;
  if (first === 'pipeline') return <Pipeline />;
  if (first === 'approvals') return <Approvals />;
  if (first === 'durations') return <Durations />;
  if (first === 'audit') return <AuditTrail />;
  if (first === 'operations' && second) return <OperationView id={second} />;
  if (first === 'environments' && second && third === 'releases') return <Releases env={second} />;
  if (first === 'environments' && second && third === 'config') return <ConfigVersions env={second} />;
  if (first === 'environments' && second) return <EnvironmentView env={second} />;
  return <p role="alert">There is no such page. <a href="#/">Back to the environments</a>.</p>;
}

const LINKS: Array<[string, string, () => boolean]> = [
  ['#/', 'Environments', () => true],
  ['#/pipeline', 'Pipeline', () => true],
  ['#/approvals', 'Approvals', () => true],
  ['#/durations', 'Durations', () => true],
  ['#/audit', 'Audit trail', isAdmin],
];

function App() {
  const signedIn = useSignal(session);
  const route = useRoute();
  useEffect(() => {
    whenSignedOut(() => { setCsrfToken(null); session.set(null); });
    call(api.GET('/v1/dashboard/session')).then((who) => {
      setCsrfToken(who.csrfToken);
      session.set({ principal: who.principal, grants: who.grants, secondFactor: who.secondFactor });
    }, () => session.set(null));
  }, []);

  if (signedIn === undefined) return <main><p class="muted">Loading Stackpilot…</p></main>;
  if (signedIn === null) return <SignIn />;
  const here = `#/${route[0] ?? ''}`;
  const signOut = async () => {
    await call(api.DELETE('/v1/dashboard/session')).catch(() => undefined);
    setCsrfToken(null);
    session.set(null);
  };
  return (
    <>
      <header>
        <span class="brand">Stackpilot</span>
        <nav aria-label="Views">
          <ul>
            {LINKS.filter(([, , shown]) => shown()).map(([href, label]) => (
              <li key={href}><a href={href} aria-current={here === href ? 'page' : undefined}>{label}</a></li>
            ))}
          </ul>
        </nav>
        <span class="who">
          {signedIn.principal}{signedIn.secondFactor ? ' (second factor)' : ''}
          <button type="button" class="link" onClick={signOut}>Sign out</button>
        </span>
      </header>
      <main id="main"><View route={route} /></main>
    </>
  );
}

render(<App />, document.getElementById('app')!);
