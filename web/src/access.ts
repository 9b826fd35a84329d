// What the signed-in user may do where, from GET /me and the role catalogue: an environment
// grant replaces the agency grant in that environment; a bot adds its own grant to its
// environment's; platform admins may do everything. The server decides every request anyway:
// this only keeps the screens and buttons to what will be allowed. What may be granted to
// others is the server's answer alone (GET /agencies/{id}/grantable, see grantable.ts).
import { fullName, roleId } from './format';
import type { Grant, Me, Role } from './types';

// The id of the read-only banner's sentence (app.tsx), which a disabled control names as its
// description while someone views the studio as another person.
export const VIEW_AS_NOTE_ID = 'view-as-note';

// What a control the person would have carries: disabled (also when busy) and, while viewing as
// them, why, as a tooltip and as the description a screen reader gives.
export interface Lock {
  disabled: boolean;
  title?: string;
  'aria-describedby'?: string;
}

// The Lock of a control for me (the session's GET /me): inert while viewing as someone.
export function viewAsLock(me: Me | null | undefined, busy = false): Lock {
  if (!me?.impersonation) return { disabled: busy };
  return {
    disabled: true,
    title: `Read-only: you are seeing the studio as ${fullName(me.user)}`,
    'aria-describedby': VIEW_AS_NOTE_ID,
  };
}

export interface Scope {
  environmentId?: string;
  bot?: { id: string; environment_id: string };
}

export class Access {
  private readonly me: Me;
  private readonly roles: Map<string, Role>;
  private readonly all: string[];
  // Viewing as someone: screens show what that person would see, disabled (see shows()).
  readonly readOnly: boolean;

  // roles: the built-in catalogue and an agency's custom roles, by the id grants use (a
  // built-in role's name, a custom role's id; a display name never matches);
  // all: every permission of the catalogue.
  constructor(me: Me, roles: Role[], all: string[]) {
    this.me = me;
    this.roles = new Map();
    for (const r of roles) this.roles.set(roleId(r), r);
    this.all = all;
    // Viewing as someone changes nothing: only the reading permissions are of use.
    this.readOnly = !!me.impersonation;
  }

  private grantPermissions(g: Grant | undefined, out: Set<string>): void {
    if (!g) return;
    for (const name of g.roles) for (const p of this.roles.get(name)?.permissions || []) out.add(p);
    for (const p of g.extra_permissions) out.add(p);
  }

  private grants(agencyId: string): Grant[] {
    return this.me.agencies.find((a) => a.id === agencyId)?.grants || [];
  }

  // The permissions at one scope of the agency (the agency itself when scope is empty).
  at(agencyId: string, scope: Scope = {}): Set<string> {
    const out = this.held(agencyId, scope);
    if (this.readOnly) for (const p of [...out]) if (!p.endsWith('.read')) out.delete(p);
    return out;
  }

  private held(agencyId: string, scope: Scope): Set<string> {
    const out = new Set<string>();
    if (this.me.is_platform_admin) {
      for (const p of this.all) out.add(p);
      return out;
    }
    const grants = this.grants(agencyId);
    const agencyGrant = grants.find((g) => !g.environment_id && !g.bot_id);
    const envId = scope.environmentId || scope.bot?.environment_id;
    if (envId) {
      const envGrant = grants.find((g) => g.environment_id === envId);
      this.grantPermissions(envGrant || agencyGrant, out);
    } else {
      this.grantPermissions(agencyGrant, out);
    }
    if (scope.bot)
      this.grantPermissions(
        grants.find((g) => g.bot_id === scope.bot!.id),
        out,
      );
    return out;
  }

  // Every permission held somewhere in the agency (agency, any environment or bot): enough to
  // show a screen whose rows the server then filters.
  anywhere(agencyId: string): Set<string> {
    const out = this.held(agencyId, {});
    for (const g of this.grants(agencyId)) this.grantPermissions(g, out);
    if (this.readOnly) for (const p of [...out]) if (!p.endsWith('.read')) out.delete(p);
    return out;
  }

  can(permission: string, agencyId: string, scope: Scope = {}): boolean {
    return this.at(agencyId, scope).has(permission);
  }

  canAnywhere(permission: string, agencyId: string): boolean {
    return this.anywhere(agencyId).has(permission);
  }

  // Whether the person whose studio this is would see a control for permission somewhere in
  // the agency, read-only viewing or not: while viewing as someone the screens show the
  // controls that person has, disabled (can/canAnywhere say whether they work).
  showsAnywhere(permission: string, agencyId: string): boolean {
    if (this.held(agencyId, {}).has(permission)) return true;
    const out = new Set<string>();
    for (const g of this.grants(agencyId)) this.grantPermissions(g, out);
    return out.has(permission);
  }

  shows(permission: string, agencyId: string, scope: Scope = {}): boolean {
    return this.held(agencyId, scope).has(permission);
  }

  // Every permission the person holds at one scope, read-only viewing or not (what shows()
  // answers from).
  holds(agencyId: string, scope: Scope = {}): Set<string> {
    return this.held(agencyId, scope);
  }

  // Spread on a control that shows() or showsAnywhere() put on the screen: disabled while
  // viewing as someone (or while busy), with the reason.
  lock(busy = false): Lock {
    return viewAsLock(this.me, busy);
  }
}
