/** A refund proposal for tests that need one and do not care about its details (review lane in the contract). */
export const refundProposal = () => ({
  actionType: 'support.refund',
  target: 'order-1',
  parameters: { amount: 480 } as Record<string, unknown>,
  proposer: { agentId: 'support-copilot', model: { name: 'm', version: '1' }, promptTemplateVersion: 'p' },
  confidence: 0.9,
  tenant: 'acme',
  region: 'eu',
  context: {} as Record<string, unknown>,
});
