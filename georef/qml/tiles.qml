<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>
<!-- Default style of the tiles layer (QGIS 3.22): one colour per status, a faint fill and a solid
     outline, so the rasters beneath stay visible. -->
<qgis styleCategories="Symbology" version="3.22.16-Białowieża">
 <renderer-v2 type="categorizedSymbol" attr="status" symbollevels="0" enableorderby="0" forceraster="0" referencescale="-1">
  <categories>
   <category value="matched" label="matched" symbol="0" render="true"/>
   <category value="screened" label="screened" symbol="1" render="true"/>
   <category value="no_match" label="no match" symbol="2" render="true"/>
   <category value="outside" label="outside the overlap" symbol="3" render="true"/>
  </categories>
  <symbols>
   <symbol type="fill" name="0" alpha="1" clip_to_extent="1" force_rhr="0">
    <layer class="SimpleFill" pass="0" locked="0" enabled="1">
     <Option type="Map">
      <Option type="QString" name="color" value="51,160,44,40"/>
      <Option type="QString" name="outline_color" value="51,160,44,255"/>
      <Option type="QString" name="outline_style" value="solid"/>
      <Option type="QString" name="outline_width" value="0.5"/>
      <Option type="QString" name="outline_width_unit" value="MM"/>
      <Option type="QString" name="style" value="solid"/>
     </Option>
    </layer>
   </symbol>
   <symbol type="fill" name="1" alpha="1" clip_to_extent="1" force_rhr="0">
    <layer class="SimpleFill" pass="0" locked="0" enabled="1">
     <Option type="Map">
      <Option type="QString" name="color" value="150,150,150,40"/>
      <Option type="QString" name="outline_color" value="150,150,150,255"/>
      <Option type="QString" name="outline_style" value="solid"/>
      <Option type="QString" name="outline_width" value="0.5"/>
      <Option type="QString" name="outline_width_unit" value="MM"/>
      <Option type="QString" name="style" value="solid"/>
     </Option>
    </layer>
   </symbol>
   <symbol type="fill" name="2" alpha="1" clip_to_extent="1" force_rhr="0">
    <layer class="SimpleFill" pass="0" locked="0" enabled="1">
     <Option type="Map">
      <Option type="QString" name="color" value="255,127,0,40"/>
      <Option type="QString" name="outline_color" value="255,127,0,255"/>
      <Option type="QString" name="outline_style" value="solid"/>
      <Option type="QString" name="outline_width" value="0.5"/>
      <Option type="QString" name="outline_width_unit" value="MM"/>
      <Option type="QString" name="style" value="solid"/>
     </Option>
    </layer>
   </symbol>
   <symbol type="fill" name="3" alpha="1" clip_to_extent="1" force_rhr="0">
    <layer class="SimpleFill" pass="0" locked="0" enabled="1">
     <Option type="Map">
      <Option type="QString" name="color" value="0,0,0,0"/>
      <Option type="QString" name="outline_color" value="106,61,154,255"/>
      <Option type="QString" name="outline_style" value="dash"/>
      <Option type="QString" name="outline_width" value="0.3"/>
      <Option type="QString" name="outline_width_unit" value="MM"/>
      <Option type="QString" name="style" value="no"/>
     </Option>
    </layer>
   </symbol>
  </symbols>
 </renderer-v2>
 <blendMode>0</blendMode>
 <featureBlendMode>0</featureBlendMode>
 <layerGeometryType>2</layerGeometryType>
</qgis>
