/**
 * The governance page's style sheet (served at `/reviews/quality/assets/governance.css`, beside the inbox's, which it
 * builds on): a calm dashboard of cards, two columns on a wide screen, one on a narrow one. No inline style (CSP).
 */
export const GOVERNANCE_CSS = `.governance {
  max-width: 78rem;
  margin: 0 auto;
  padding: 1.5rem 2rem 3rem;
}
.gov-head {
  display: flex;
  flex-wrap: wrap;
  align-items: center;
  justify-content: space-between;
  gap: 1rem;
  margin-bottom: 0.5rem;
}
.gov-head h1 {
  font-size: 1.6rem;
  margin: 0;
}
.gov-head .gov-window {
  color: var(--muted);
  margin: 0.25rem 0 0;
  font-size: 0.9rem;
}
.mode-badge {
  display: flex;
  align-items: center;
  gap: 0.75rem;
  padding: 0.6rem 1.1rem;
  border: 2px solid #6b7280;
  border-radius: 0.6rem;
  background: #f3f4f6;
  color: #1f2937;
  max-width: 40rem;
}
.mode-badge .mode-name {
  font-size: 1.15rem;
  font-weight: 700;
  text-transform: uppercase;
  letter-spacing: 0.04em;
}
.mode-badge .mode-why {
  font-size: 0.9rem;
}
.mode-normal { border-color: #15803d; background: #ecfdf3; color: #14532d; }
.mode-elevated { border-color: #b45309; background: #fffbeb; color: #713f12; }
.mode-constrained { border-color: #c2410c; background: #fff4ed; color: #7c2d12; }
.mode-halted { border-color: #b91c1c; background: #fef2f2; color: #7f1d1d; }
.governance h2 {
  font-size: 1.15rem;
  margin: 2rem 0 0.75rem;
  padding-bottom: 0.35rem;
  border-bottom: 1px solid var(--line);
}
.gov-grid {
  display: grid;
  grid-template-columns: 1fr;
  gap: 1.25rem;
  align-items: start;
}
@media (min-width: 60rem) {
  .gov-grid { grid-template-columns: 1fr 1fr; }
}
.gov-card {
  background: #fff;
  border: 1px solid var(--line);
  border-radius: 0.6rem;
  padding: 1rem 1.25rem 1.1rem;
  box-shadow: 0 1px 2px rgb(0 0 0 / 4%);
  min-width: 0;
}
.gov-card h3 {
  font-size: 1rem;
  margin: 0;
}
.gov-card .gov-desc {
  color: var(--muted);
  font-size: 0.85rem;
  margin: 0.2rem 0 0.75rem;
}
.gov-card figure {
  margin: 0;
}
.gov-card svg {
  display: block;
  width: 100%;
  height: auto;
  max-width: 36rem;
}
.gov-card figcaption {
  margin-top: 0.6rem;
  padding-top: 0.5rem;
  border-top: 1px solid #eef0f3;
  font-size: 0.8rem;
  color: #374151;
}
.plot-data {
  margin: 0;
  padding-left: 1.1rem;
  columns: 2 14rem;
  column-gap: 1.5rem;
}
.plot-empty {
  margin: 0;
  color: var(--muted);
}
.gov-list {
  background: #fff;
  border: 1px solid var(--line);
  border-radius: 0.6rem;
  padding: 0.75rem 1.25rem 0.75rem 2.25rem;
  margin: 0;
}
.override-request {
  background: #fff7e6;
  border: 1px solid #b45309;
  border-radius: 0.6rem;
  padding: 0.75rem 1rem;
  color: #1f2937;
}
@media (max-width: 40rem) {
  .governance { padding: 1rem; }
}
`;
