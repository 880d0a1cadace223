/**
 * Why an admin route answered 401: no token at all, or one that is not the
 * admin token (a pasted typo or another server's should not read "required").
 */
export function adminRefusal(authorization: string): string {
  return authorization === '' ? 'admin token required' : 'wrong admin token';
}
