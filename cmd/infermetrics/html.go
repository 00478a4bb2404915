package main

func writeHTML(path string, s *Summary, runs []*RunInfo, charts []chartFile) error { return nil }
