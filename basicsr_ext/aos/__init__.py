"""AOS (airborne optical sectioning) domain code: camera geometry, raw-sample reading, integration, simulation and
focal-stack I/O. Facts about the real data and their sources: ../shared/AOS_FORMAT.md (summarised in docs)."""
