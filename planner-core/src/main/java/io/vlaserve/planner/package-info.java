/**
 * Decomposing a task in plain language into subgoals the loaded policy knows.
 *
 * <p>{@link io.vlaserve.planner.Planner} has two implementations: {@link
 * io.vlaserve.planner.EmbeddedPlanner}, deterministic and offline (the default), and {@link
 * io.vlaserve.planner.OpenAiChatPlanner}, an OpenAI-compatible chat-completions client. Both
 * answer with subgoals validated against the policy's skills by {@link
 * io.vlaserve.planner.SkillLibrary}. No Spring here.
 */
package io.vlaserve.planner;
