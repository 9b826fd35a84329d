// The console's sign-in page, email first: the address and "Continue" (the server says how
// that address signs in), then the password and "Sign in" for a password account.

// Types the address on the sign-in page and continues to the next step.
export async function continueWithEmail(page, email) {
  await page.getByLabel('Email').fill(email);
  await page.getByRole('button', { name: 'Continue', exact: true }).click();
}

// Signs who ({email, password}) in from the sign-in page open in page; resolves once the
// password has been sent (the caller waits for where it leads).
export async function signInWithPassword(page, who) {
  await continueWithEmail(page, who.email);
  await page.getByLabel('Password').fill(who.password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
}
