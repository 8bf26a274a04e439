import { bearerToken } from './auth';

// real: the Authorization header parser every route's AuthGuard uses; fake: nothing.
describe('bearerToken', () => {
  it.each([
    ['Bearer abc.def-1', 'abc.def-1'],
    ['bearer abc', 'abc'],
    ['BEARER abc', 'abc'],
    ['Bearer  abc ', 'abc'],
  ])('reads %p as the token %p (the scheme is case-insensitive)', (header, token) => {
    expect(bearerToken(header)).toBe(token);
  });

  it.each([[undefined], [''], ['Bearer'], ['Bearer '], ['Basic YWxpY2U6c2VjcmV0'], ['Bearer a b'], ['Token abc'], [['Bearer abc']]])(
    'finds no token in %p',
    (header) => {
      expect(bearerToken(header)).toBeUndefined();
    },
  );
});
