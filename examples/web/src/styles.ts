import type { CSSProperties } from 'react';

const tab: CSSProperties = { padding: '4px 12px', border: '1px solid #999', background: '#fff', cursor: 'pointer' };

/** Plain inline styles: the example is about the cache, not about CSS. */
export const styles = {
  header: { display: 'flex', gap: 16, alignItems: 'center', padding: 12, borderBottom: '1px solid #ddd', fontFamily: 'sans-serif' },
  nav: { display: 'flex', gap: 4, flex: 1 },
  tab,
  tabActive: { ...tab, background: '#222', color: '#fff' },
  main: { padding: 16, fontFamily: 'sans-serif' },
  table: { borderCollapse: 'collapse', width: '100%' },
  cell: { borderBottom: '1px solid #eee', padding: '6px 8px', textAlign: 'left' },
  toast: { position: 'fixed', bottom: 16, left: 16, background: '#222', color: '#fff', padding: '10px 14px', display: 'flex', gap: 12, alignItems: 'center' },
  dialog: { position: 'fixed', inset: 0, background: 'rgba(0,0,0,0.35)', display: 'flex', alignItems: 'center', justifyContent: 'center' },
  dialogBody: { background: '#fff', padding: 20, minWidth: 420, maxWidth: 640 },
  error: { color: '#b00020' },
  form: { display: 'flex', gap: 8, margin: '12px 0' },
} satisfies Record<string, CSSProperties>;
