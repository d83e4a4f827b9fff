/**
 * The first release of each supported Node.js line with the January 2026 security fixes. Older
 * ones have published permission-model bypasses (CVE-2025-55130: a symbolic link escapes
 * --allow-fs-read; CVE-2025-55132: fs.futimes() writes under read-only permission), and the
 * plugin sandbox relies on that model. Matches `engines.node` in the package.json files.
 */
const FLOORS: Readonly<Record<number, readonly [number, number, number]>> = {
  20: [20, 20, 0],
  22: [22, 22, 0],
  24: [24, 13, 0],
  25: [25, 3, 0],
};

/** The range `engines.node` carries. */
export const NODE_ENGINES = '^20.20.0 || ^22.22.0 || ^24.13.0 || >=25.3.0';

/** What to do about a version {@link nodeVersionProblem} refuses. */
export const NODE_UPGRADE =
  'install Node 24 LTS (or 20.20+ / 22.22+): these versions fix published permission-model bypasses CVE-2025-55130 (a symbolic link escapes --allow-fs-read) and CVE-2025-55132, which the plugin sandbox relies on; then npm install again';

/** Lines newer than the newest in FLOORS were released after the fixes. */
const NEWEST_KNOWN = Math.max(...Object.keys(FLOORS).map(Number));

const asString = ([major, minor, patch]: readonly number[]) => `${major}.${minor}.${patch}`;

/** -1, 0 or 1 as `a` is older than, the same as or newer than `b`. */
function compare(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < 3; i++) if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) < (b[i] ?? 0) ? -1 : 1;
  return 0;
}

/**
 * Why this Node.js should not run Hearth: too old, an end-of-life line (21, 23), or a supported
 * line below its security floor (20.20.0, 22.22.0, 24.13.0, 25.3.0).
 *
 * @param version as `process.versions.node` has it (`24.13.0`); a leading `v` is allowed
 * @returns the problem in one line, or undefined when the version is fine
 * @example
 * nodeVersionProblem('22.21.0') // 'Node.js 22.21.0 is older than 22.22.0, …'
 * nodeVersionProblem('24.13.0') // undefined
 */
export function nodeVersionProblem(version: string): string | undefined {
  const match = /^v?(\d+)\.(\d+)\.(\d+)/.exec(version.trim());
  if (!match) return `cannot read the Node.js version "${version}"`;
  const have = [Number(match[1]), Number(match[2]), Number(match[3])] as const;
  const [major] = have;
  if (major > NEWEST_KNOWN) return undefined;
  const floor = FLOORS[major];
  if (floor === undefined) {
    return major < 20 ? `Node.js ${version} is too old: Hearth needs ${NODE_ENGINES}` : `Node.js ${major} is end of life: its line gets no security fixes`;
  }
  if (compare(have, floor) < 0) return `Node.js ${version} is older than ${asString(floor)}, the first ${major}.x with the January 2026 security fixes`;
  return undefined;
}
