export type { JoinRequest, JoinRequest__Output } from "./JoinRequest";
export type { JoinResponse, JoinResponse__Output } from "./JoinResponse";
