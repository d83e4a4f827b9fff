import type { ScannedPlugin } from './scan.js';

/**
 * A secret goes to one plugin: one declared by two plugins refuses both (a plugin cannot ask for
 * another's key by naming it), unless the owner shares it (HEARTH_PLUGINS_SHARED_SECRETS). The
 * names the core itself uses are refused by the manifest schema already.
 *
 * @returns the plugins, those that lost a secret to another made unloadable with the reason
 * @example
 * const plugins = refuseSharedSecrets(await scanPlugins('plugins'), new Set(['WEATHER_API_KEY']));
 */
export function refuseSharedSecrets(scanned: readonly ScannedPlugin[], shared: ReadonlySet<string>): ScannedPlugin[] {
  const owners = new Map<string, string[]>();
  for (const plugin of scanned) {
    for (const secret of plugin.manifest?.permissions.secrets ?? []) owners.set(secret, [...(owners.get(secret) ?? []), plugin.name]);
  }
  return scanned.map((plugin) => {
    const problems = (plugin.manifest?.permissions.secrets ?? []).flatMap((secret) => {
      const others = (owners.get(secret) ?? []).filter((name) => name !== plugin.name);
      if (others.length === 0 || shared.has(secret)) return [];
      return [
        `permissions.secrets: ${secret} is also declared by ${others.map((name) => `"${name}"`).join(', ')}; a secret is given to one plugin only, unless the owner shares it (HEARTH_PLUGINS_SHARED_SECRETS=${secret})`,
      ];
    });
    return problems.length === 0 ? plugin : { ...plugin, manifest: undefined, entryPath: undefined, files: [], problems: [...plugin.problems, ...problems] };
  });
}
