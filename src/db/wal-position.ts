/**
 * WAL positions (LSNs), the unit of the consistency tokens: PostgreSQL writes
 * them as two hexadecimal halves of a 64-bit number, e.g. `0/3000148`.
 */
const LSN_PATTERN = /^([0-9A-F]{1,8})\/([0-9A-F]{1,8})$/i;

/** The position, or undefined when the text is not one. */
export function parseWalPosition(text: string): bigint | undefined {
  const match = LSN_PATTERN.exec(text);
  if (!match) return undefined;
  return (BigInt(`0x${match[1]}`) << 32n) | BigInt(`0x${match[2]}`);
}

export function formatWalPosition(position: bigint): string {
  return `${(position >> 32n).toString(16).toUpperCase()}/${(position & 0xffffffffn).toString(16).toUpperCase()}`;
}

/**
 * The primary's WAL position as a replica's replay position will show it once
 * everything committed so far has been replayed. The insert position is used,
 * not the write position, because with `synchronous_commit=off` a commit may
 * not be written yet when the token is read. When it sits at the start of a
 * page it points past the page header (24 bytes, 40 at the start of a
 * segment), where a replay position never stops: step back over the header.
 */
export const COMMITTED_POSITION_SQL = `select (case
    when (p - '0/0'::pg_lsn) % pg_size_bytes(current_setting('wal_segment_size')) = 40 then p - 40
    when (p - '0/0'::pg_lsn) % current_setting('wal_block_size')::int = 24 then p - 24
    else p end)::text as position
  from pg_current_wal_insert_lsn() as p`;
