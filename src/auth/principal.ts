/** Roles a token can carry. */
export type Role = 'admin' | 'member';

/**
 * Who is calling: a verified token's subject, nobody, or the server itself
 * (retention job, command-line tools), which acts with admin rights and no id.
 */
export type Principal =
  | { readonly role: 'anonymous'; readonly id: null }
  | { readonly role: 'system'; readonly id: null }
  | { readonly role: Role; readonly id: string };

export const ANONYMOUS: Principal = Object.freeze({ role: 'anonymous', id: null });
export const SYSTEM: Principal = Object.freeze({ role: 'system', id: null });
