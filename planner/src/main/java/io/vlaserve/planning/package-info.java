/**
 * Decomposing a task in plain language into subgoals the loaded policy knows.
 *
 * <p>{@link io.vlaserve.planning.Planner} has two implementations: {@link
 * io.vlaserve.planning.EmbeddedPlanner}, deterministic and offline (the default), and {@link
 * io.vlaserve.planning.OpenAiChatPlanner}, an OpenAI-compatible chat-completions client. Both
 * answer with subgoals validated against the policy's skills by {@link
 * io.vlaserve.planning.SkillLibrary}. No Spring here.
 */
package io.vlaserve.planning;
