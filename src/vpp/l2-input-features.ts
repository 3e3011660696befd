// VPP's L2 input feature bits (vnet/l2/l2_input.h, L2INPUT_FEAT_*): the raw bitmap that
// l2_flags_reply and l2_flags_get_reply report for an interface. l2_flags itself takes the API's
// bridge flag bits (BdFlags: LEARN 1, FWD 2, FLOOD 4, UU_FLOOD 8, ARP_TERM 16), not these.
export const L2_INPUT_FEAT = {
  DROP: 1 << 0,
  XCONNECT: 1 << 1,
  FLOOD: 1 << 2,
  ARP_UFWD: 1 << 3,
  ARP_TERM: 1 << 4,
  UU_FLOOD: 1 << 5,
  UU_FWD: 1 << 6,
  FWD: 1 << 7,
  LEARN: 1 << 9,
} as const;
