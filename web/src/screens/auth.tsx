// Sign up and log in: both start a session and go to the feed.
import { useMutation } from '@apollo/client/react';
import { useState, type FormEvent } from 'react';
import { ErrorNote } from '../components/common.js';
import { LOG_IN, SIGN_UP } from '../operations.js';
import { Link, navigate } from '../router.js';
import { sessionFrom, setSession } from '../session.js';

type Payload = Parameters<typeof sessionFrom>[0];

export function AuthScreen({ mode }: { mode: 'login' | 'signup' }) {
  const [signUp, s] = useMutation<{ signUp: Payload }>(SIGN_UP);
  const [logIn, l] = useMutation<{ logIn: Payload }>(LOG_IN);
  const [form, setForm] = useState({ username: '', email: '', password: '', displayName: '' });
  const set = (k: keyof typeof form) => (e: { target: { value: string } }) =>
    setForm({ ...form, [k]: e.target.value });

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    try {
      let payload: Payload | undefined;
      if (mode === 'signup') {
        const input = {
          username: form.username,
          email: form.email,
          password: form.password,
          ...(form.displayName ? { displayName: form.displayName } : {}),
        };
        payload = (await signUp({ variables: { input } })).data?.signUp;
      } else {
        const input = { login: form.username, password: form.password };
        payload = (await logIn({ variables: { input } })).data?.logIn;
      }
      if (payload) {
        setSession(sessionFrom(payload));
        navigate('/', { replace: true });
      }
    } catch {
      // shown by <ErrorNote>
    }
  };

  const signup = mode === 'signup';
  return (
    <main className="auth">
      <h1>Mosaic</h1>
      <form onSubmit={(e) => void submit(e)} aria-label={signup ? 'Sign up' : 'Log in'}>
        <label>
          {signup ? 'Username' : 'Username or email'}
          <input
            name="username"
            autoComplete="username"
            required
            value={form.username}
            onChange={set('username')}
          />
        </label>
        {signup ? (
          <>
            <label>
              Email
              <input
                name="email"
                type="email"
                autoComplete="email"
                required
                value={form.email}
                onChange={set('email')}
              />
            </label>
            <label>
              Display name (optional)
              <input name="displayName" value={form.displayName} onChange={set('displayName')} />
            </label>
          </>
        ) : null}
        <label>
          Password
          <input
            name="password"
            type="password"
            autoComplete={signup ? 'new-password' : 'current-password'}
            required
            minLength={signup ? 8 : undefined}
            value={form.password}
            onChange={set('password')}
          />
        </label>
        <button type="submit" disabled={s.loading || l.loading}>
          {signup ? 'Sign up' : 'Log in'}
        </button>
        <ErrorNote error={s.error ?? l.error} />
      </form>
      <p>
        {signup ? (
          <>
            Have an account? <Link to="/login">Log in</Link>
          </>
        ) : (
          <>
            New to Mosaic? <Link to="/signup">Sign up</Link>
          </>
        )}
      </p>
    </main>
  );
}
