import { describe, expect, it } from 'vitest';
import { loadCoreConfig } from '../../src/config.js';
import { ConfigError } from '../../src/errors.js';
import { loadMcpConfig } from '../../src/mcp/config.js';
import { expandSecrets, parseMcpFile } from '../../src/mcp/file.js';
import { needsApproval, offeredName, resultForModel } from '../../src/mcp/tools.js';
import { ref } from './support.js';

const parse = (servers: Record<string, unknown>) => parseMcpFile(JSON.stringify({ mcpServers: servers }), 'mcp.json');
const problems = (servers: Record<string, unknown>): string => {
  try {
    parse(servers);
  } catch (error) {
    if (error instanceof ConfigError) return error.message;
    throw error;
  }
  throw new Error('accepted');
};

describe('mcp.json', () => {
  it('reads the desktop clients shape, with defaults, servers by name', () => {
    const text = JSON.stringify({
      globalShortcut: 'kept: another client may share the file',
      mcpServers: {
        weather: { url: 'https://mcp.example.com/mcp', headers: { Authorization: `Bearer ${ref('WEATHER_TOKEN')}` } },
        files: { command: 'npx', args: ['-y', 'server-files', '/srv/notes'], env: { API_KEY: ref('FILES_KEY') }, folders: ['/srv/notes', { path: '/srv/out', writable: true }] },
      },
    });
    expect(parseMcpFile(text, 'mcp.json')).toEqual([
      {
        name: 'files',
        kind: 'stdio',
        command: 'npx',
        args: ['-y', 'server-files', '/srv/notes'],
        env: { API_KEY: ref('FILES_KEY') },
        trusted: false,
        folders: [
          { path: '/srv/notes', writable: false },
          { path: '/srv/out', writable: true },
        ],
        hosts: [],
        lan: [],
        approve: {},
        timeoutMs: 30_000,
      },
      { name: 'weather', kind: 'http', url: 'https://mcp.example.com/mcp', headers: { Authorization: `Bearer ${ref('WEATHER_TOKEN')}` }, lan: false, approve: {}, timeoutMs: 30_000 },
    ]);
  });

  it('refuses bad entries, naming the file, the server, the field and the fix', () => {
    expect(() => parseMcpFile('{ nope', 'mcp.json')).toThrow(/^mcp\.json is not JSON/);
    expect(problems({ both: { command: 'x', url: 'https://a.example/mcp' } })).toBe(
      'mcp.json: mcpServers.both: an entry has either "command" (a program run over stdio) or "url" (an HTTP server), not both or neither',
    );
    expect(problems({ 'Bad.Name': { command: 'x' } })).toContain('mcp.json: mcpServers.Bad.Name: a server name is 1-32 of a-z 0-9 _ -');
    // Else server a's tool b__c and server a__b's tool c would both be offered as a__b__c.
    for (const name of ['a__b', 'a-_b', 'files_', 'x'.repeat(33)]) expect(problems({ [name]: { command: 'x' } })).toContain('no two of _ - in a row nor one at the end');
    expect(problems({ 'my-files': { command: 'x' }, my_files: { command: 'y' } })).toContain("its tools would be offered under the same names as my-files's (my_files__TOOL)");
    expect(problems({ s: { command: 'x', env: { TOKEN: ref('TELEGRAM_BOT_TOKEN') } } })).toContain(
      `mcp.json: mcpServers.s.env.TOKEN: ${ref('TELEGRAM_BOT_TOKEN')} belongs to the core, a platform or Node`,
    );
    expect(problems({ s: { url: 'https://a.example/mcp', headers: { 'X-Key': ref('HEARTH_LOG_KEY') } } })).toContain('never given to an MCP server');
    expect(problems({ s: { command: 'x', trusted: true, hosts: ['api.example.com'] } })).toContain('mcpServers.s.hosts: a trusted server runs unsandboxed with the network of the core');
    expect(problems({ s: { command: 'x', hosts: ['API.example.com', 'https://a.example/'] } })).toContain('mcpServers.s.hosts.0: a host is a name or name:port, lower-case');
    expect(problems({ s: { command: 'x', hosts: ['a.example'], lan: ['10.0.0.1'] } })).toContain('mcpServers.s.lan: "10.0.0.1" is not ADDRESS:PORT');
    expect(problems({ s: { command: 'x', lan: ['10.0.0.1:80'] } })).toContain('mcpServers.s.lan: lan grants the addresses of hosts: list the hosts too');
    expect(problems({ s: { command: 'x', trusted: true, folders: ['/srv'] } })).toContain('mcpServers.s.folders: a trusted server runs unsandboxed and sees every folder');
    expect(problems({ s: { command: 'x', folders: ['relative/dir'] } })).toContain('must be an absolute path');
    expect(problems({ s: { command: 'x', folders: ['/srv'], cwd: '/etc' } })).toContain('mcpServers.s.cwd: cwd must be inside one of folders');
    expect(problems({ s: { command: 'x', env: { LD_PRELOAD: '/evil.so' } } })).toContain('LD_PRELOAD would change how the sandbox itself starts');
    expect(problems({ s: { url: 'http://mcp.example.com/mcp' } })).toContain('mcpServers.s.url: plain http only to a server on your network ("lan": true); use https');
    expect(problems({ s: { url: 'ftp://mcp.example.com/' } })).toContain('url must be an http(s) URL');
    expect(problems({ s: { command: 'x', trustd: true } })).toContain('mcpServers.s: Unrecognized key: "trustd"');
    expect(problems({ s: { command: 'x', approve: { t: 'maybe' } } })).toContain('approve values are "always" or "never"');
    // Every problem at once, one line each.
    expect(problems({ a: { command: 'x', trusted: true, hosts: ['h'] }, b: { url: 'http://h/' } }).split('\n')).toHaveLength(2);
  });

  it('lives at HEARTH_MCP_CONFIG, else in the data folder; the core configuration carries it', () => {
    expect(loadMcpConfig({})).toEqual({ file: '.hearth/mcp.json', expose: new Set() });
    expect(loadMcpConfig({ HEARTH_DATA_DIR: '/var/hearth' })).toMatchObject({ file: '/var/hearth/mcp.json' });
    expect(loadMcpConfig({ HEARTH_MCP_CONFIG: '/etc/hearth/mcp.json' })).toMatchObject({ file: '/etc/hearth/mcp.json' });
    expect(loadMcpConfig({ HEARTH_MCP_EXPOSE: ' get_weather, notes__read_note ,' }).expose).toEqual(new Set(['get_weather', 'notes__read_note']));
    expect(() => loadMcpConfig({ HEARTH_MCP_EXPOSE: 'a b' })).toThrow(/HEARTH_MCP_EXPOSE lists tool names as offered to the model/);
    expect(loadCoreConfig({ HEARTH_MCP_CONFIG: '/etc/hearth/mcp.json' }).mcp).toMatchObject({ file: '/etc/hearth/mcp.json' });
  });

  it('fills variables from the environment, never with the core ones', () => {
    expect(expandSecrets(`Bearer ${ref('TOKEN')}`, { TOKEN: 'abc' })).toEqual({ ok: true, value: 'Bearer abc' });
    expect(expandSecrets(ref('TOKEN'), {})).toEqual({ ok: false, missing: ['TOKEN'] });
    expect(expandSecrets(ref('HEARTH_LOG_KEY'), { HEARTH_LOG_KEY: 'k' })).toEqual({ ok: false, missing: ['HEARTH_LOG_KEY'] });
  });
});

describe('MCP tools as the model sees them', () => {
  it('are named SERVER__TOOL, or not offered when no function name fits', () => {
    expect(offeredName('my-files', 'read.file')).toBe('my_files__read_file');
    expect(offeredName('s', 'x'.repeat(80))).toBeUndefined();
  });

  it('need approval as their annotations say (MCP defaults: destructive and open-world), unless the entry says', () => {
    const none = { approve: {} };
    expect(needsApproval(none, { name: 't' })).toBe(true);
    expect(needsApproval(none, { name: 't', annotations: { readOnlyHint: true, openWorldHint: false } })).toBe(false);
    expect(needsApproval(none, { name: 't', annotations: { destructiveHint: false, openWorldHint: false } })).toBe(false);
    expect(needsApproval(none, { name: 't', annotations: { readOnlyHint: true } })).toBe(true);
    expect(needsApproval(none, { name: 't', annotations: { destructiveHint: true, openWorldHint: false } })).toBe(true);
    expect(needsApproval({ approve: { t: 'never' } }, { name: 't' })).toBe(false);
    expect(needsApproval({ approve: { '*': 'always' } }, { name: 't', annotations: { readOnlyHint: true, openWorldHint: false } })).toBe(true);
  });

  it('answer with their text, other content named, errors as { error }', () => {
    expect(resultForModel({ content: [{ type: 'text', text: 'a' }, { type: 'image', data: 'AAAA', mimeType: 'image/png' }, { type: 'resource_link', uri: 'file:///x' }] })).toBe(
      'a\n[image image/png]\n[link file:///x]',
    );
    expect(resultForModel({ content: [], structuredContent: { temp: 21 } })).toEqual({ temp: 21 });
    expect(resultForModel({ isError: true, content: [] })).toEqual({ error: 'the tool failed without saying why' });
  });
});
