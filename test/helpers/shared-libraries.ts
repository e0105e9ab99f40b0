// Where the dynamic linker finds a library, asked as deploy.sh asks it (`ldconfig -p`), so a
// test's "is it installed" agrees with the script's on any multiarch layout.
import { execFileSync } from 'node:child_process';
import { realpathSync } from 'node:fs';

/**
 * The file ld.so would load `soname` from (e.g. `libjemalloc.so.2`), or null if it has none. The
 * real path, as /proc/<pid>/maps names it (on a merged /usr, ldconfig says /lib/…, maps /usr/lib/…).
 */
export function libraryPath(soname: string): string | null {
  let listing: string;
  try {
    listing = execFileSync('ldconfig', ['-p'], { encoding: 'utf8', env: { ...process.env, PATH: `${process.env.PATH ?? ''}:/sbin:/usr/sbin` } });
  } catch {
    return null;
  }
  for (const line of listing.split('\n')) {
    const match = /^\s*(\S+) \(.*\) => (\S+)$/.exec(line);
    if (match && match[1] === soname) return realpathSync(match[2]!);
  }
  return null;
}
