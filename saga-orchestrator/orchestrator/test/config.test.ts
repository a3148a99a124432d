import { describe, expect, it } from 'vitest';
import { parseOrchestratorConfig } from '../src/config.ts';

describe("the orchestrator's lease settings", () => {
  it('When LEASE_TTL_MS is unset, then it is 5 s, or the longest gap between saga-log writes plus 2 s when that is longer', () => {
    expect(parseOrchestratorConfig({}).LEASE_TTL_MS).toBe(5000);
    expect(parseOrchestratorConfig({ STEP_TIMEOUT_MS: '8000' }).LEASE_TTL_MS).toBe(10_000);
    expect(parseOrchestratorConfig({ RETRY_MAX_MS: '6000' }).LEASE_TTL_MS).toBe(8000);
  });

  it('When LEASE_TTL_MS is no longer than a participant call may take, then the orchestrator refuses to start, naming it', () => {
    expect(() =>
      parseOrchestratorConfig({ STEP_TIMEOUT_MS: '8000', LEASE_TTL_MS: '5000' }),
    ).toThrow(/LEASE_TTL_MS: must be longer than .* 8000 ms here/);
    expect(
      parseOrchestratorConfig({ STEP_TIMEOUT_MS: '8000', LEASE_TTL_MS: '9000' }).LEASE_TTL_MS,
    ).toBe(9000);
  });
});
