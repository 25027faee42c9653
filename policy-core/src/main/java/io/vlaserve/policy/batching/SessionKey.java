package io.vlaserve.policy.batching;

/**
 * Names one session of one robot to the scheduler: requests with the same key are one stream of
 * observations (a newer waiting one replaces an older, one computes at a time). Keys are values:
 * whoever opens a session gives it an id no other open session of the service has.
 *
 * @param robot the robot
 * @param id unique among the service's sessions (a counter)
 */
public record SessionKey(String robot, long id) {}
