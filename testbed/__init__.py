"""What tests and benchmarks run Lineup against: loopback servers that speak a protocol
(Ollama, a paced OpenAI-compatible server), real servers started on 127.0.0.1 (llama.cpp's
llama-server, PostgreSQL), tiny models with random weights built on the spot, hostile
payloads, and the helpers that drive the app in headless chromium.

Tests (tests/) and benchmarks (bench/) import it; Lineup itself (lineup/, backends/,
components/, app_pages/) never does.
"""
