// The shapes of the API's answers that the console reads (SPEC §8).

export interface User {
  id: string;
  email: string;
  first_name: string;
  last_name: string;
  status: string;
  created_at: string;
  last_active_at: string | null;
}

export interface Grant {
  environment_id?: string;
  bot_id?: string;
  roles: string[];
  extra_permissions: string[];
  expires_at?: string | null; // RFC 3339: the grant ends then; absent or null: it does not end
}

// What a change of grants would do (PUT …/grants?dry_run=1); nothing was changed.
export interface GrantsPreview {
  dry_run: true;
  changes: {
    scope_type: 'agency' | 'environment' | 'bot';
    scope_id: string;
    scope_name: string;
    gained: string[];
    lost: string[];
  }[];
  notification_recipients: {
    added: { email: string; environment_id: string; environment_name: string }[];
    removed: { email: string; environment_id: string; environment_name: string }[];
  };
}

export interface Membership {
  id: string;
  name: string;
  shortcode: string | null;
  grants: Grant[];
  // The agency requires its company sign-in and this session was made with a password: the
  // server answers its routes 403 sso_required until the person signs in through it.
  sso_required?: boolean;
}

export interface Invitation {
  id: string;
  agency: { id: string; name: string };
  email: string;
  first_name: string | null;
  last_name: string | null;
  shortcode: string | null;
  status: string;
  grants: Grant[];
  invited_by: { id: string; name?: string } | null;
  created_at: string;
  expires_at: string;
  last_sent_at: string | null;
  send_count: number;
  url?: string;
  places?: Places; // the names of the environments and bots its grants point at
}

// Names of the places an invitation's grants point at, for people who cannot read them yet.
export interface Places {
  environments: Record<string, string>;
  bots: Record<string, { name: string; environment_id?: string }>;
}

export interface InvitationFacts {
  agency: { id: string; name: string };
  inviter: { name: string } | null;
  email: string;
  first_name: string | null;
  last_name: string | null;
  status: string;
  expires_at: string;
  account_exists: boolean;
  sign_in: string; // "password" or "oauth" (accepted only through the agency's company sign-in)
  connection_id?: string | null;
  connection_name?: string | null;
  grants: Grant[];
  places?: Places;
}

// Present while the signed-in person sees the studio as someone else (read-only).
export interface Impersonation {
  agency_id: string;
  read_only: boolean;
}

export interface Me {
  user: User;
  is_platform_admin: boolean;
  agencies: Membership[];
  pending_invitations: Invitation[];
  csrf_token?: string;
  impersonation?: Impersonation | null;
  impersonator?: User | null; // the person viewing, while impersonating
  // Present only on servers with those features (absent: the console does not offer them).
  second_factor?: boolean;
  second_factor_required?: boolean;
  pending_email?: string | null;
  // Present only on servers with company sign-in (OpenID Connect).
  sign_in_method?: 'password' | 'oidc'; // how this session was made
  identities?: Identity[];
  has_password?: boolean;
  // Until when this session counts as a recent company sign-in (null for any other session):
  // until then an account without a password may delete itself without one.
  recent_sign_in_until?: string | null;
}

// A company sign-in (OpenID Connect) identity linked to the account: issuer + subject.
export interface Identity {
  id: string;
  connection_id: string | null;
  connection_name: string | null;
  issuer: string;
  email: string | null;
  created_at: string;
  // false once its connection was deleted or now names another issuer: it signs nobody in
  usable?: boolean;
}

// An agency's company sign-in connection (never its client secret).
export interface OidcConnection {
  id: string;
  agency_id: string;
  name: string;
  issuer: string;
  client_id: string;
  domains: string[];
  algorithms: string[];
  required: boolean;
  created_at: string;
  updated_at: string;
  redirect_uri: string;
}

// POST …/oidc-connections/{id}/test: what the IdP's discovery document and keys offer.
export interface OidcTestResult {
  ok: boolean;
  problems: string[];
  issuer?: string | null;
  authorization_endpoint?: string | null;
  token_endpoint?: string | null;
  end_session_endpoint?: string | null;
  keys?: number | null;
  algorithms?: string[] | null;
}

// POST /sign-in/discover: how the address signs in, decided from its domain.
export interface SignInMethod {
  method: 'password' | 'oidc';
  connection_id?: string;
  connection_name?: string;
  start_url?: string;
}

// GET /me/sessions: where the person is signed in.
export interface AccountSession {
  id: string;
  created_at: string;
  last_used_at: string | null;
  expires_at?: string;
  address?: string | null;
  source_ip?: string | null;
  user_agent: string | null;
  current: boolean;
}

export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

export interface Role {
  id?: string;
  name: string;
  description?: string;
  built_in: boolean;
  scopes: string[];
  permissions: string[];
}

export interface Permission {
  name: string;
  description: string;
  kind?: 'authority' | 'work';
}

// GET /agencies/{id}/grantable: every role and extra permission at one scope, whether the
// signed-in person may give it there and, when not, why (reason, in words).
export interface GrantableRole {
  id: string;
  name: string;
  built_in: boolean;
  grantable: boolean;
  reason: string | null;
  until?: string | null; // the latest end it may have when given here; null: it need not end
}

export interface GrantablePermission {
  name: string;
  description: string;
  kind: 'authority' | 'work';
  grantable: boolean;
  reason: string | null;
  until?: string | null;
}

export interface Grantable {
  scope: { type: string; id: string };
  needs: string;
  until?: string | null; // when the right to give here ends (RFC 3339); null: it does not end
  roles: GrantableRole[];
  extra_permissions: GrantablePermission[];
}

export interface Agency {
  id: string;
  name: string;
  created_at?: string;
  status?: 'active' | 'suspended';
  require_second_factor?: boolean; // absent on a server without two-step verification
  sign_in_connections?: { id: string; name: string }[]; // absent on a server without company sign-in
}

export interface Environment {
  id: string;
  agency_id: string;
  name: string;
  created_at?: string;
}

export interface Bot {
  id: string;
  agency_id: string;
  environment_id: string;
  name: string;
  shared: boolean;
  created_at?: string;
}

export interface BotManager {
  user_id: string;
  email: string;
  first_name: string;
  last_name: string;
  status: string;
}

// A person of the users overview: a member, or (status "invited") a pending invitation whose
// id is the invitation's.
export interface Member {
  id: string;
  email: string;
  first_name: string;
  last_name: string;
  shortcode: string | null;
  status: string;
  grants: Grant[];
  environments: { id: string; name: string }[];
  last_active_at: string | null;
  created_at: string | null;
  invitation_id?: string;
  access?: MemberAccess[]; // GET of one member only
  second_factor?: boolean; // absent on a server without two-step verification
  sign_in_methods?: ('password' | 'oidc')[]; // absent on a server without company sign-in
}

// How a member stands in one environment.
export interface MemberAccess {
  environment_id: string;
  name: string;
  access: 'inherited' | 'overridden' | 'granted' | 'none';
  removed: boolean;
  roles: string[];
  extra_permissions: string[];
  permissions: string[];
}

export interface Effective {
  user_id: string;
  scope: { type: string; id: string };
  roles: string[];
  permissions: string[];
  source: string;
  inherited: boolean;
}

export interface ApiToken {
  id: string;
  name: string;
  agency_id?: string | null;
  created_at: string;
  created_by?: string | null;
  last_used_at: string | null;
  revoked_at: string | null;
  token?: string;
}

export interface AuditEntry {
  id: string;
  at: string;
  actor_id: string | null;
  impersonator_id: string | null;
  action: string;
  subject_user_id: string | null;
  scope: { type: string; id: string | null } | null;
  source_ip: string | null;
  user_agent: string | null;
  details: Record<string, unknown>;
}

// One account of GET /users (platform admins).
export interface PlatformUser extends User {
  is_platform_admin: boolean;
  agencies: { id: string; name: string }[];
  second_factor?: boolean; // absent on a server without two-step verification
}

// The answer of POST /sessions and of its second step, POST /sessions/mfa.
export interface SessionAnswer {
  csrf_token?: string;
  // Set instead of a session when the account has two-step verification: the code goes to
  // POST /sessions/mfa with this token.
  mfa_required?: boolean;
  mfa_token?: string;
}
