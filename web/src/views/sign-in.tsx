// Sign in with an API key; a TOTP code as well gives a session that may do admin actions. The
// key goes to the service once and is not kept by the page: the session cookie is.
import { useState } from 'preact/hooks';
import { ApiError, call, setCsrfToken, signInClient } from '../api.js';
import { session } from '../session.js';
import { Failure, useAction } from '../load.js';

export function SignIn() {
  const [key, setKey] = useState('');
  const [code, setCode] = useState('');
  const action = useAction();
  const submit = async (event: Event) => {
    event.preventDefault();
    const who = await action.run(() => call(signInClient(key.trim()).POST('/v1/dashboard/session', { body: code ? { code: code.trim() } : {} })).catch((failure) => {
      // Here a 401 means the key or code, not a session that ended.
      if (failure instanceof ApiError && failure.status === 401) throw new ApiError(`That key or code was not accepted${failure.message.replace(/^[^:]*/, '')}`, 401);
      throw failure;
    }));
    if (!who) return;
    setKey('');
    setCsrfToken(who.csrfToken);
    session.set({ principal: who.principal, grants: who.grants, secondFactor: who.secondFactor });
  };
  return (
    <main class="sign-in">
      <h1>Sign in to Stackpilot</h1>
      <form onSubmit={submit}>
        <label for="api-key">API key</label>
        <input id="api-key" name="api-key" type="password" autocomplete="off" required value={key} onInput={(e) => setKey(e.currentTarget.value)} />
        <label for="totp">One-time code <span class="muted">(for admin actions and production approvals)</span></label>
        <input id="totp" name="totp" inputMode="numeric" pattern="[0-9]{6}" autocomplete="one-time-code" value={code} onInput={(e) => setCode(e.currentTarget.value)} />
        <button type="submit" disabled={action.busy}>{action.busy ? 'Signing in…' : 'Sign in'}</button>
        <Failure message={action.error} />
      </form>
    </main>
  );
}
