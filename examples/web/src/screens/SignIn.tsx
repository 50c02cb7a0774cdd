import { useState } from 'react';
import { styles } from '../styles';

const isLocal = ['localhost', '127.0.0.1', '[::1]'].includes(location.hostname);

export function SignIn({ onSignIn }: { onSignIn: (token: string) => void }) {
  const [token, setToken] = useState('');
  return (
    <main style={styles.main}>
      <h1>Sign in</h1>
      <p>Paste a token (a JWT with a role claim of admin or member).</p>
      {isLocal && (
        <p data-testid="token-hint">
          In development, run <code>npm run token -- --role admin</code> in the server's folder and paste what it prints.
        </p>
      )}
      <form
        onSubmit={(event) => {
          event.preventDefault();
          if (token.trim()) onSignIn(token.trim());
        }}
      >
        <textarea data-testid="token-input" rows={5} cols={80} value={token} onChange={(event) => setToken(event.target.value)} />
        <div>
          <button data-testid="sign-in" type="submit">
            Sign in
          </button>
        </div>
      </form>
    </main>
  );
}
