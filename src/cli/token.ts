import { parseArgs } from 'node:util';
import { signToken } from '../auth/token-signer';
import { ConfigError, loadConfig } from '../config';
import { isUuid } from '../db/ids';

/** The `sub` of development admin tokens when none is given, so audit events show one stable actor. */
export const DEFAULT_ADMIN_SUB = '00000000-0000-7000-8000-00000000ad01';

const usage = 'usage: npm run token -- --role admin|member [--sub USER_ID] [--ttl 1h]';

/**
 * `npm run token`: prints a token signed with the configured JWT_SECRET (or
 * the development secret), for Apollo Sandbox's headers panel and for scripts.
 */
export async function runTokenCommand(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const { values } = parseArgs({
    args: argv,
    options: { role: { type: 'string' }, sub: { type: 'string' }, ttl: { type: 'string', default: '1h' } },
    strict: true,
  });
  if (values.role !== 'admin' && values.role !== 'member') throw new ConfigError(`--role must be admin or member; ${usage}`);
  if (values.role === 'member' && !values.sub) throw new ConfigError(`a member token needs --sub (the member's user id); ${usage}`);
  const sub = values.sub ?? DEFAULT_ADMIN_SUB;
  if (!isUuid(sub)) throw new ConfigError(`--sub must be a UUID; ${usage}`);
  if (!/^\d+[smhd]$/.test(values.ttl!)) throw new ConfigError(`--ttl must look like 30m, 1h or 7d; ${usage}`);
  const { auth } = loadConfig(env);
  if (!auth.secret) throw new ConfigError('JWT_JWKS_URL is set: tokens come from its issuer, not from this command');
  return signToken(auth.secret, { role: values.role, sub }, values.ttl!);
}

if (require.main === module) {
  runTokenCommand(process.argv.slice(2)).then(
    (token) => console.log(token),
    (error) => {
      console.error(error instanceof Error ? error.message : error);
      process.exit(1);
    },
  );
}
