import type { ChangeStatus } from './change-request';

/** Every status a change request can have (the API's `?status=` filter and the OpenAPI document). */
export const CHANGE_STATUSES: readonly ChangeStatus[] = ['pending', 'approved', 'rejected', 'withdrawn', 'expired', 'superseded'];

/**
 * A change request as the API shows it (`ChangeRequestView`), for the OpenAPI document: the fields every kind shares,
 * plus what its kind proposes (`contract` and its `diff`, or the `autonomy` raise).
 */
export const changeRequestSchema = (proposes: Record<string, object>) => ({
  type: 'object',
  required: ['id', 'kind', 'status', 'digest', 'requestedBy', 'createdAt', 'expiresAt'],
  properties: {
    id: { type: 'string', format: 'uuid' },
    kind: { type: 'string' },
    status: { enum: [...CHANGE_STATUSES] },
    digest: { type: 'string', description: 'what an approval must name' },
    reason: { type: 'string' },
    requestedBy: { type: 'string' },
    createdAt: { type: 'string', format: 'date-time' },
    expiresAt: { type: 'string', format: 'date-time' },
    ...proposes,
  },
});
