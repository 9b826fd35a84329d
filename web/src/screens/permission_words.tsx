// Permissions as people read them: each by the catalogue's description (GET /permissions, which
// the session loads once; the grantable answer carries the same words), its code beside it in
// small type for those who work with the API.
import { sentence } from '../format';
import { useSession } from '../session';
import type { Permission } from '../types';

// A catalogue description as a list item: "read customer records" → "Read customer records".
export function permissionText(description: string): string {
  return sentence(description).replace(/\.$/, '');
}

// The description of the permission named in the catalogue, or its name when unknown.
export function describePermission(name: string, catalogue: Permission[]): string {
  const p = catalogue.find((x) => x.name === name);
  return p?.description ? permissionText(p.description) : name;
}

// describePermission with the session's catalogue.
export function usePermissionWords(): (name: string) => string {
  const { permissions } = useSession();
  return (name: string) => describePermission(name, permissions);
}

// The extra permissions of a grant, each by its description with its code after it.
export function ExtraPermissions({ names }: { names: string[] }) {
  const words = usePermissionWords();
  return (
    <>
      {names.map((n, i) => (
        <span key={n} class="extra-perm">
          {i ? ', ' : ''}
          {words(n)} <code class="perm-code">{n}</code>
        </span>
      ))}
    </>
  );
}

// Permissions as a row of chips, each saying what it allows with its code in small type.
export function PermissionChips({ names }: { names: string[] }) {
  const words = usePermissionWords();
  return (
    <p class="perms">
      {names.map((n) => (
        <span key={n} class="perm">
          {words(n)} <code class="perm-code">{n}</code>
        </span>
      ))}
    </p>
  );
}
