// What the redactor takes out of a comment, a PR body or a log line, and what it must leave:
// secrets known by value (from variables named like secrets), and token shapes it was never
// told about, each cut at its exact edges so the text around it stays readable.
import { describe, expect, it } from 'vitest';
import { createRedactor, SECRET_ENV_PATTERN } from '../../src/activities/redact.js';

describe('secrets known by value', () => {
  it.each(['GITHUB_TOKEN', 'LINEAR_WEBHOOK_SECRET', 'DB_PASSWORD', 'OPENAI_API_KEY', 'GITHUB_APP_PRIVATE_KEY', 'GCP_CREDENTIALS', 'github_token'])('come from a variable named like %s', (name) => {
    expect(SECRET_ENV_PATTERN.test(name)).toBe(true);
    expect(createRedactor({ [name]: 'hunter22' })('login with hunter22 now')).toBe('login with [redacted] now');
  });

  it('never come from other variables, however secret their value looks', () => {
    for (const name of ['HOME', 'PATH', 'GITHUB_OWNER', 'API_URL', 'KEY_ID']) expect(SECRET_ENV_PATTERN.test(name)).toBe(false);
    expect(createRedactor({ HOME: '/root/home', GIT_AUTHOR: 'ada lovelace' })('/root/home by ada lovelace')).toBe('/root/home by ada lovelace');
  });

  it('are six characters or longer: shorter values would redact ordinary words', () => {
    const redact = createRedactor({ SHORT_TOKEN: 'abcde', EXACT_TOKEN: 'qwerty', EMPTY_SECRET: '' });
    expect(redact('abcde qwerty')).toBe('abcde [redacted]');
  });

  it('include each entry of a comma-separated rotation list, trimmed, except entries under six characters', () => {
    const redact = createRedactor({ WEBHOOK_SECRETS: ' first-secret , second-secret,abc' });
    expect(redact('first-secret second-secret abc')).toBe('[redacted] [redacted] abc');
  });

  it('are replaced everywhere they occur, the longest first so no tail of a longer one is left', () => {
    const redact = createRedactor({ A_TOKEN: 'abcdef', B_TOKEN: 'abcdefghijkl' });
    expect(redact('abcdefghijkl abcdef abcdefghijkl')).toBe('[redacted] [redacted] [redacted]');
  });

  it('skip a secret-named variable that is unset', () => {
    expect(createRedactor({ GITHUB_TOKEN: undefined, LINEAR_API_KEY: 'lin-key-123' })('lin-key-123')).toBe('[redacted]');
  });

  it('read process.env when given nothing', () => {
    expect(createRedactor()('plain text stays')).toBe('plain text stays');
  });
});

describe('token shapes', () => {
  const redact = createRedactor({});
  const alnum20 = 'A1b2C3d4E5f6G7h8I9j0';

  it.each([
    ['a GitHub personal token', `ghp_${alnum20}xyz`],
    ['a GitHub OAuth token', `gho_${alnum20}`],
    ['a GitHub user-to-server token', `ghu_${alnum20}`],
    ['a GitHub installation token', `ghs_${alnum20}`],
    ['a GitHub refresh token', `ghr_${alnum20}`],
    ['a fine-grained GitHub token', `github_pat_11ABC_${alnum20}`],
    ['a Linear API key', `lin_api_${alnum20}`],
    ['a Linear OAuth token', `lin_oauth_${alnum20}`],
    ['a Linear webhook secret', `lin_wh_${alnum20}`],
    ['an OpenAI key', `sk-proj_${alnum20}-x`],
    ['an Anthropic key', `sk-ant-api03-${alnum20}`],
    ['an AWS access key id', 'AKIAIOSFODNN7EXAMPLE'],
  ])('takes out %s whole, and nothing around it', (_, token) => {
    expect(redact(`before ${token} after`)).toBe('before [redacted] after');
  });

  it.each([
    ['a GitHub token one character short', `ghp_${alnum20.slice(1)}`],
    ['an unknown GitHub prefix', `ghx_${alnum20}`],
    ['a Linear key one character short', `lin_api_${alnum20.slice(1)}`],
    ['a key inside a longer word', `mask-${alnum20}`],
    ['an AWS key id one character short', 'AKIAIOSFODNN7EXAMPL'],
    ['an AWS key id in lower case', 'akiaiosfodnn7example'],
  ])('leaves %s alone', (_, text) => {
    expect(redact(`before ${text} after`)).toBe(`before ${text} after`);
  });

  it('takes out a whole private key block, across lines', () => {
    const key = '-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\nline two\n-----END RSA PRIVATE KEY-----';
    expect(redact(`key:\n${key}\nend`)).toBe('key:\n[redacted]\nend');
    expect(redact('-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----')).toBe('[redacted]');
  });

  it('keeps the header name and scheme of an Authorization header, and takes out its credential', () => {
    expect(redact('Authorization: Bearer abc.def.ghi')).toBe('Authorization: Bearer [redacted]');
    expect(redact('authorization:token xyz123 rest')).toBe('authorization:token [redacted] rest');
    expect(redact('"AUTHORIZATION: basic dXNlcjpwYXNz"')).toBe('"AUTHORIZATION: basic [redacted]"');
    expect(redact('Authorization: Bearer    spaced.out.token')).toBe('Authorization: Bearer    [redacted]');
  });

  it('keeps the scheme and host of a URL with credentials, and takes out the user and password', () => {
    expect(redact('git push https://x-access-token:s3cret@github.com/a/b.git')).toBe('git push https://[redacted]github.com/a/b.git');
    expect(redact('http://user:pw@localhost:8080/x')).toBe('http://[redacted]localhost:8080/x');
    expect(redact('https://github.com/a/b and user@example.com')).toBe('https://github.com/a/b and user@example.com');
  });

  it('takes out every occurrence, not only the first', () => {
    expect(redact(`ghp_${alnum20} and ghs_${alnum20}; AKIAIOSFODNN7EXAMPLE, AKIAIOSFODNN7EXAMPLE`)).toBe('[redacted] and [redacted]; [redacted], [redacted]');
  });
});
