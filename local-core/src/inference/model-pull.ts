import { resolveModelFile } from 'node-llama-cpp';
import { ModelNotFoundError } from '../errors.js';

/** Error codes that mean "no network" rather than "no such model". */
const OFFLINE = /ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ENETUNREACH|ECONNRESET|ETIMEDOUT|fetch failed|getaddrinfo/i;

/** Where a reference downloads from, to check the network before a downloader that would retry forever. */
const hostOf = (uri: string): string => (/^https?:\/\//i.test(uri) ? new URL(uri).origin : 'https://huggingface.co');
const PROBE_TIMEOUT_MS = 10_000;
/** A download that makes no progress for this long is stopped (its partial file stays for the next pull). */
const STALL_MS = 60_000;

const describeCause = (error: unknown): string => {
  const parts: string[] = [];
  for (let e: unknown = error; e instanceof Error && parts.length < 4; e = e.cause) parts.push(`${e.message}${'code' in e ? ` ${String(e.code)}` : ''}`);
  return parts.join(': ') || String(error);
};

/**
 * Downloads a GGUF (`hf:user/repo/file.gguf`, `hf:user/repo:Q4_K_M` or an https URL) into
 * `directory` and returns its path; a file already there is reused. The download goes to a
 * partial file that a later pull resumes rather than restarts (`deleteTempFileOnCancel: false`).
 *
 * @throws ModelNotFoundError saying whether the network or the reference is the problem
 */
export async function pullModel(
  uri: string,
  directory: string,
  { progress = true, onProgress }: { progress?: boolean; onProgress?: (status: { totalSize: number; downloadedSize: number }) => void } = {},
): Promise<string> {
  const offline = (cause: string) =>
    new ModelNotFoundError(
      `cannot download ${uri}: the network is unreachable (${cause}). Run \`hearth models pull ${uri}\` when online, ` +
        'or copy a .gguf into ./models (HEARTH_MODELS_DIR) and set HEARTH_MODEL to its path',
    );
  // Any HTTP answer will do: we only ask whether the host can be reached at all.
  await fetch(hostOf(uri), { method: 'HEAD', signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) }).catch((error: unknown) => {
    throw offline(describeCause(error));
  });
  const stalled = new AbortController();
  let watchdog = setTimeout(() => stalled.abort(), STALL_MS);
  try {
    return await resolveModelFile(uri, {
      directory,
      cli: progress,
      deleteTempFileOnCancel: false,
      signal: stalled.signal,
      onProgress: (status) => {
        clearTimeout(watchdog);
        watchdog = setTimeout(() => stalled.abort(), STALL_MS);
        onProgress?.(status);
      },
    });
  } catch (error) {
    if (stalled.signal.aborted) throw new ModelNotFoundError(`the download of ${uri} stalled for ${STALL_MS / 1000} s: run the pull again to resume it`);
    const cause = describeCause(error);
    throw OFFLINE.test(cause) ? offline(cause) : new ModelNotFoundError(`cannot download ${uri}: ${cause}`);
  } finally {
    clearTimeout(watchdog);
  }
}
