import { fileURLToPath } from 'node:url';

/** The shared real-world fixtures (binlogs and dumps from real servers), beside the repository. */
export const FIXTURES = fileURLToPath(new URL('../../../shared/fixtures/', import.meta.url));
export const REAL_BINLOGS = `${FIXTURES}binlogs/real/`;
export const REAL_DUMPS = `${FIXTURES}dumps/real/`;
