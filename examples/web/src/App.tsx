import { ApolloProvider } from '@apollo/client/react';
import { useMemo, useState } from 'react';
import { createApolloClient, roleOf } from './apollo';
import { SignIn } from './screens/SignIn';
import { TrashScreen } from './screens/Trash';
import { UsersScreen } from './screens/Users';
import { styles } from './styles';

const TOKEN_KEY = 'trash-web-token';
type Screen = 'users' | 'trash';

export function App() {
  const [token, setToken] = useState(() => localStorage.getItem(TOKEN_KEY));
  const [screen, setScreen] = useState<Screen>(() => (location.hash === '#trash' ? 'trash' : 'users'));
  const [connections, setConnections] = useState(0);
  // One client per token: signing in as someone else must not show the previous principal's cache.
  const client = useMemo(
    () => (token ? createApolloClient({ token, onEventsConnected: () => setConnections((count) => count + 1) }) : undefined),
    [token],
  );

  if (!token || !client) {
    return (
      <SignIn
        onSignIn={(value) => {
          localStorage.setItem(TOKEN_KEY, value);
          setToken(value);
        }}
      />
    );
  }
  const isAdmin = roleOf(token) === 'admin';
  const go = (next: Screen) => {
    location.hash = next;
    setScreen(next);
  };
  return (
    <ApolloProvider client={client}>
      <header style={styles.header}>
        <strong>Trash</strong>
        <nav style={styles.nav}>
          <button data-testid="nav-users" style={screen === 'users' ? styles.tabActive : styles.tab} onClick={() => go('users')}>
            Users
          </button>
          <button data-testid="nav-trash" style={screen === 'trash' ? styles.tabActive : styles.tab} onClick={() => go('trash')}>
            Trash
          </button>
        </nav>
        <span data-testid="role">{isAdmin ? 'admin' : 'member'}</span>
        <button
          data-testid="sign-out"
          onClick={() => {
            localStorage.removeItem(TOKEN_KEY);
            void client.clearStore();
            setToken(null);
          }}
        >
          Sign out
        </button>
      </header>
      <main style={styles.main}>
        {screen === 'users' ? <UsersScreen isAdmin={isAdmin} /> : <TrashScreen isAdmin={isAdmin} connections={connections} />}
      </main>
    </ApolloProvider>
  );
}
