// Driver authentication: a bearer token shared through a file (docs/security.md: why a token and not
// Keystone, and how Keystone would slot in). The file may hold several tokens, one a line, so a token
// can be rotated without downtime: add the new one, move the drivers over, remove the old one. The
// file is re-read when it changes (checked at most once a second), so rotation needs no restart.
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import type { Logger } from '../util/log.ts';

/** Shorter tokens are refused: a guessable secret is no authentication. */
export const MIN_TOKEN_LENGTH = 16;

export type AuthResult = 'ok' | 'missing' | 'wrong';

/** What the HTTP layer needs: the verdict on a request's Authorization header. */
export interface Authenticator {
  check(authorization: string | undefined): AuthResult;
}

/** The tokens in a token file's text: non-empty lines that are not `#` comments. */
export function parseTokens(text: string, path: string): string[] {
  const tokens = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  if (tokens.length === 0) throw new Error(`token file ${path} holds no token`);
  for (const t of tokens) {
    if (t.length < MIN_TOKEN_LENGTH || /\s/.test(t))
      throw new Error(
        `token file ${path}: a token must be at least ${MIN_TOKEN_LENGTH} characters without spaces ` +
          '(make one with `openssl rand -hex 32`)',
      );
  }
  return tokens;
}

// Digests have one length whatever was presented, so the comparison takes the same time for a wrong
// token of any length and no byte of a real token leaks through timing.
const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

export class TokenFile implements Authenticator {
  private digests: Buffer[] = [];
  private stamp = '';
  private checkedAt = 0;

  /** Throws when the file can't be read or holds no usable token (a start-up error). */
  constructor(
    readonly path: string,
    private readonly log?: Logger,
  ) {
    this.load();
  }

  private fileStamp(): string {
    const s = statSync(this.path);
    return `${s.ino}:${s.size}:${s.mtimeMs}`;
  }

  private load(): void {
    const stamp = this.fileStamp();
    this.digests = parseTokens(readFileSync(this.path, 'utf8'), this.path).map(digest);
    this.stamp = stamp;
  }

  /** Re-reads a changed file; a broken new version keeps the old tokens (and says so). */
  private refresh(): void {
    const now = Date.now();
    if (now - this.checkedAt < 1000) return;
    this.checkedAt = now;
    try {
      if (this.fileStamp() === this.stamp) return;
      this.load();
      this.log?.info('token file re-read', { file: this.path, tokens: this.digests.length });
    } catch (e) {
      this.log?.warn('token file unreadable; keeping the tokens read before', {
        file: this.path,
        error: (e as Error).message,
      });
    }
  }

  verify(token: string): boolean {
    this.refresh();
    const d = digest(token);
    let ok = false;
    // Every token is compared (no early exit), so timing tells nothing about which one matched.
    for (const t of this.digests) ok = timingSafeEqual(d, t) || ok;
    return ok;
  }

  check(authorization: string | undefined): AuthResult {
    const m = /^Bearer +(\S+) *$/i.exec(authorization ?? '');
    if (!m) return 'missing';
    return this.verify(m[1]) ? 'ok' : 'wrong';
  }
}
