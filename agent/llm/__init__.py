"""Models: the one LLM client (`client.LLMClient`, the only module that talks to litellm) and the embedded
llama.cpp server it starts for the offline model (`local`).

May import `agent.core` only.
"""
