package resources

import "testing"

func TestParseMemory(t *testing.T) {
	cases := map[string]int64{"4Gi": 4 << 30, "512Mi": 512 << 20, "1G": 1e9, "1024": 1024, "0.5Gi": 1 << 29}
	for in, want := range cases {
		got, err := ParseMemory(in)
		if err != nil || got != want {
			t.Errorf("ParseMemory(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "lots", "-1Gi", "4GB"} {
		if _, err := ParseMemory(bad); err == nil {
			t.Errorf("ParseMemory(%q) succeeded, want error", bad)
		}
	}
}

func TestMonthlyUSD(t *testing.T) {
	p := Pricing{CPUHour: 0.04, MemoryGiBHour: 0.005, GPUHour: 2.5}
	s := Spec{CPU: 4, MemoryBytes: 16 << 30, GPU: 1, Replicas: 2}
	// (8*0.04 + 32*0.005 + 2*2.5) * 730 = (0.32+0.16+5) * 730 = 4000.4
	if got := p.MonthlyUSD(s); got != 4000.4 {
		t.Fatalf("MonthlyUSD = %v, want 4000.4", got)
	}
	if FormatMemory(16<<30) != "16Gi" || FormatMemory(512<<20) != "512Mi" {
		t.Fatal("FormatMemory")
	}
}
