/** A referral body as Microsoft would share it (valid against the sandbox's create rules). */
export function sampleReferral(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: 'Contoso AI pilot',
    type: 'Shared',
    qualification: 'SalesQualified',
    customerProfile: {
      name: 'Contoso Ltd',
      address: {
        addressLine1: '1 Main St',
        city: 'Redmond',
        state: 'WA',
        postalCode: '98052',
        country: 'US',
      },
      team: [{ firstName: 'Sue', lastName: 'Smith', email: 'sue@contoso.com', phoneNumber: '5550100' }],
    },
    consent: { consentToShareReferralWithMicrosoftSellers: true },
    details: {
      notes: 'Pilot for 200 seats',
      dealValue: 50000,
      currency: 'USD',
      closingDateTime: '2026-12-31T00:00:00Z',
      requirements: { solutions: [{ id: 'SOL-34104-EBB', type: 'Name' }] },
    },
    inviteContext: { assistanceRequestCode: 'ProofOfConceptOrDemo', invitedBy: { organizationId: 'msft' } },
    ...overrides,
  };
}
